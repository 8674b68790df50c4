"""The folder of an output file, made right before the file is written
(standard library only). Shared by tools/convert_weights.py and
tools/golden_io.py: a run that is refused before its first write leaves no
new folder behind, as the C++ programs' io::create_parent_folder. And the
one rule of the scripts that write through a temporary renamed over the
output (golden_io, bench/bench_json.py, scripts/fashion_mnist_zip.py):
not_a_plain_file.
"""
import errno
import os


def not_a_plain_file(path):
    """Why a rename over path would not write it, or "": the rename replaces a
    link (as root, /dev/stdout itself) or a device or pipe node, not what it
    leads to."""
    if os.path.islink(path):
        return "is a symbolic link; give the file itself"
    if os.path.lexists(path) and not os.path.isfile(path):
        return "is not a regular file (a device or pipe); give a file name"
    return ""


def make_parent_folder(path):
    """Makes the folder of path and its parents. Returns None, or the one
    line that says why it cannot: '<path>: cannot make its folder <folder>:
    <reason>' (a file in the way, a link to nothing, permission denied)."""
    folder = os.path.dirname(path)
    if not folder:
        return None
    try:
        os.makedirs(folder, exist_ok=True)
        if not os.path.isdir(folder):  # a link to nothing
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
    except OSError as e:
        why = os.strerror(errno.ENOTDIR) if isinstance(e, FileExistsError) else e.strerror  # a file in the way
        return f"{path}: cannot make its folder {folder}: {why}"
    return None
