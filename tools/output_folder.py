"""The folder of an output file, made right before the file is written
(standard library only). Shared by tools/convert_weights.py and
tools/golden_io.py: a run that is refused before its first write leaves no
new folder behind, as the C++ programs' io::create_parent_folder.
"""
import errno
import os


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
