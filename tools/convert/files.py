"""Input and output files: an input read whole (pipes and sockets refused),
the output's folder (checked before the conversion, made only at the write)
and the atomic write (a temporary renamed on success; devices, pipes and
descriptors written in place). Standard library only: the command line
checks the output's folder before NumPy and PyTorch load."""
import errno
import os
import stat

from interrupts import exclusive_temporary
import output_folder

from .errors import ConvertError


def parent_folder_problem(path):
    """Why the folder of path could not be made, or None; makes nothing. Its
    first existing ancestor (a dangling link counts) must be a folder we may
    write into, as engine/io/atomic_file.h check_parent_folder says."""
    folder = os.path.dirname(path)
    if not folder:
        return None
    at = folder
    while at and not os.path.lexists(at):
        at = os.path.dirname(at)
    existing = at or "."
    if not os.path.isdir(existing):
        return os.strerror(errno.ENOTDIR)
    if at != folder and not os.access(existing, os.W_OK | os.X_OK):
        return os.strerror(errno.EACCES)
    return None


def make_parent_folder(path):
    """Makes the folder of path (and its parents) right before path is written."""
    why = output_folder.make_parent_folder(path)
    if why:
        raise ConvertError(why)


def read_input_file(path):
    """The bytes of an input file; a pipe or socket is refused before it is
    opened (opening a FIFO nobody writes blocked forever), as the C++ .bin
    reader refuses them."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        raise ConvertError(f"{path}: is a {'pipe' if stat.S_ISFIFO(mode) else 'socket'}, not a file "
                           "(save it to a file first)")
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ConvertError(f"{path}: cannot read ({e.strerror})")


def names_file_descriptor(path):
    """True when path reaches an open descriptor of this process (/dev/stdout,
    /dev/fd/N, /proc/self/fd/N, or a link to one): it may lead to a regular
    file a shell redirection opened, which a rename would replace."""
    p = os.path.normpath(os.path.abspath(path))
    for _ in range(8):
        d = os.path.realpath(os.path.dirname(p))  # /dev/fd, /proc/self/fd -> /proc/<pid>/fd
        if os.path.basename(d) == "fd" and os.path.dirname(os.path.dirname(d)) == "/proc":
            return True
        if not os.path.islink(p):
            return False
        p = os.path.normpath(os.path.join(os.path.dirname(p), os.readlink(p)))
    return False


def write_atomic(path, chunks):
    make_parent_folder(path)  # only now: a run refused before the write leaves no new folder
    # A device, pipe or descriptor (/dev/null, a FIFO, /dev/stdout) is written
    # in place, appending (so `> f` and `>> f` mean what the shell says): a
    # rename would replace the node itself, or the file a redirection opened.
    # A link to a file has its file replaced.
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)
                             or (stat.S_ISREG(mode) and names_file_descriptor(path))):
        try:
            with open(path, "ab") as f:
                for c in chunks:
                    f.write(c)
        except OSError as e:
            raise ConvertError(f"{path}: cannot write ({e.strerror})")
        return
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise ConvertError(f"{path}: cannot write (a block device or socket, not a file)")
    if mode is not None and os.path.islink(path):
        path = os.path.realpath(path)
    # A temporary of this process alone (exclusive_temporary); a signal's
    # default action would leave it: while it exists, SIGINT and SIGTERM
    # remove it and end the process.
    try:
        with exclusive_temporary(path) as tmp:
            try:
                with open(tmp, "wb") as f:
                    for c in chunks:
                        f.write(c)
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.remove(tmp)
                raise
    except OSError as e:
        raise ConvertError(f"{path}: cannot write ({e.strerror})")
