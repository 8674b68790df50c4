"""torch.save files (zip or legacy) and TorchScript archives read as data with
the restricted unpickler: torch.load and torch.jit.load are never used, and
an archive's code/ is never run."""
import ast
import collections
import io
import pickle
import re
import struct
import zipfile

import torch

from .errors import ConvertError
from .restricted_pickle import RestrictedUnpickler, _allowed_globals, _guarded, _storage_globals


LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def _torch_file_globals(storage_globals_only):
    return _storage_globals() if storage_globals_only else {**_allowed_globals(), **_storage_globals()}


def _probe_globals(allowed):
    """The same globals, but tensors are not built: a first pass only collects
    the storages (their bytes follow the pickle, or sit beside it in a zip)."""
    probe = dict(allowed)
    for name in ("_rebuild_tensor_v2", "_rebuild_parameter", "_rebuild_parameter_with_state"):
        if ("torch._utils", name) in probe:
            probe[("torch._utils", name)] = lambda *a, **k: None
    return probe


def read_legacy_torch(data, path, storage_globals_only=False):
    """A legacy torch.save stream: pickles of the magic number, the protocol
    version, sys_info, the object (storages as persistent ids), the list of
    storage keys; then per key an 8-byte little-endian element count and the
    raw bytes. Parsed with the restricted unpickler and numpy, in two passes:
    storages first, then the object with its tensors."""
    def load():
        f = io.BytesIO(data)
        plain = lambda: RestrictedUnpickler(f, path, {}).load()  # noqa: E731
        if plain() != LEGACY_MAGIC:
            raise ConvertError(f"{path}: not a legacy torch.save file (bad magic number)")
        version = plain()
        if version != 1001:
            raise ConvertError(f"{path}: legacy torch.save protocol {version}, expected 1001")
        info = plain()
        if not isinstance(info, dict) or info.get("little_endian") is not True:
            raise ConvertError(f"{path}: legacy torch.save file is not little-endian")
        allowed = _torch_file_globals(storage_globals_only)
        start, storages = f.tell(), {}
        RestrictedUnpickler(f, path, _probe_globals(allowed), storages).load()
        keys = plain()
        if not isinstance(keys, list) or len(set(keys)) != len(keys) or set(keys) != set(storages):
            raise ConvertError(f"{path}: storage key list does not match the storages used")
        for key in keys:
            head = f.read(8)
            if len(head) != 8:
                raise ConvertError(f"{path}: truncated (storage {key})")
            count = struct.unpack("<Q", head)[0]
            if count != storages[key].numel:
                raise ConvertError(f"{path}: storage {key} has {count} elements, expected {storages[key].numel}")
            n = count * storages[key].type.np_dtype.itemsize
            raw = f.read(n)
            if len(raw) != n:
                raise ConvertError(f"{path}: truncated (storage {key})")
            storages[key].set_bytes(raw, path)
        if f.read(1):
            raise ConvertError(f"{path}: trailing bytes after the last storage")
        f.seek(start)
        return RestrictedUnpickler(f, path, allowed, storages).load()
    return _guarded(path, load)


def read_zip_torch(data, path, storage_globals_only=False, script=False):
    """A zip torch.save file: <archive>/data.pkl (storages as persistent ids)
    and <archive>/data/<key> raw bytes; read with zipfile, the restricted
    unpickler and numpy, in two passes like the legacy format. script: a
    TorchScript archive (torch.jit.save), whose data.pkl rebuilds __torch__.*
    classes: they become inert ScriptObjects; -> (top object,
    {name in the zip: ZipInfo}, the zip)."""
    def load():
        try:
            z = zipfile.ZipFile(io.BytesIO(data))
            infos = {i.filename: i for i in z.infolist()}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
            raise ConvertError(f"{path}: not a readable zip archive ({e})")
        pkls = [n for n in infos if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkls) != 1:
            raise ConvertError(f"{path}: zip archive without exactly one <name>/data.pkl")
        root = pkls[0][:-len("data.pkl")]
        order = infos.get(root + "byteorder")
        if order is not None and (order.file_size > 16 or z.read(order) != b"little"):  # "little" or "big"
            raise ConvertError(f"{path}: torch.save file is not little-endian")
        if infos[pkls[0]].file_size > 1 << 30:
            raise ConvertError(f"{path}: data.pkl of {infos[pkls[0]].file_size} bytes, refusing")
        _check_inflation(path, [infos[pkls[0]]])
        pkl = z.read(pkls[0])
        allowed = _torch_file_globals(storage_globals_only)
        if script:  # tensors and TorchScript's containers only: none of the official pickles' classes
            allowed = {**_storage_globals(), **_SCRIPT_GLOBALS,
                       **{k: v for k, v in allowed.items() if k in _SCRIPT_TENSOR_GLOBALS}}
        classes = ScriptClasses() if script else None
        storages = {}
        f = io.BytesIO(pkl)
        RestrictedUnpickler(f, path, _probe_globals(allowed), storages, classes).load()
        if f.read(1):
            raise ConvertError(f"{path}: trailing bytes after data.pkl")
        entries = {}
        for key, ref_ in storages.items():  # every entry checked before any is read
            info = infos.get(f"{root}data/{key}")
            if info is None:
                raise ConvertError(f"{path}: storage {key} missing from the archive")
            if info.file_size != ref_.numel * ref_.type.np_dtype.itemsize:
                raise ConvertError(f"{path}: storage {key} has {info.file_size} bytes, expected "
                                   f"{ref_.numel} x {ref_.type.np_dtype.itemsize}")
            entries[key] = info
        _check_inflation(path, list(entries.values()))
        for key, info in entries.items():
            storages[key].set_bytes(z.read(info), path)
        top = RestrictedUnpickler(io.BytesIO(pkl), path, allowed, storages, classes).load()
        return (top, infos, z) if script else top
    return _guarded(path, load)


# torch.save and torch.jit.save write data.pkl and the storages uncompressed
# (ZIP_STORED): what they hold costs what the file does. A compressed entry
# (a re-zipped file) is read only while all of them together inflate to at
# most this many times their compressed bytes, plus a slack for small constant
# storages: trained float weights barely deflate (under 1.2x), zero-filled
# buffers up to ~1000x, and a 6.5 MB file inflating to 1.5 GB cost 3.2 GB of
# memory and half a minute before its names were even looked at.
MAX_INFLATION = 16
INFLATION_SLACK = 1 << 20


def _check_inflation(path, infos):
    packed = [i for i in infos if i.compress_type != zipfile.ZIP_STORED]
    inflated = sum(i.file_size for i in packed)
    if inflated > MAX_INFLATION * sum(i.compress_size for i in packed) + INFLATION_SLACK:
        worst = max(packed, key=lambda i: i.file_size / max(i.compress_size, 1))
        raise ConvertError(f"{path}: {worst.filename} is compressed {worst.file_size / max(worst.compress_size, 1):.0f} "
                           f"to 1 ({worst.compress_size} bytes inflating to {worst.file_size}); torch.save stores "
                           f"tensors uncompressed, and compressed entries may inflate to at most {MAX_INFLATION}x "
                           "their size: refusing")


def read_torch_file(path, data):
    if is_zip(data):
        return read_zip_torch(data, path)
    return read_legacy_torch(data, path)


def is_zip(data):
    return data[:4] == b"PK\x03\x04"


def _script_list(items):
    if not isinstance(items, list):
        raise pickle.UnpicklingError(f"a TorchScript list of {type(items).__name__}")
    return list(items)


def _restore_type_tag(obj, type_str):
    return obj  # the tag only names the element type


# torch.jit._pickle's helpers in a TorchScript data.pkl: typed lists and
# aggregates' type tags. Stand-ins that build the plain values.
_SCRIPT_GLOBALS = {("torch.jit._pickle", n): _script_list
                   for n in ("build_intlist", "build_doublelist", "build_boollist", "build_tensorlist")}
_SCRIPT_GLOBALS[("torch.jit._pickle", "restore_type_tag")] = _restore_type_tag
# What else a TorchScript data.pkl may name: tensors, parameters, ordered dicts.
_SCRIPT_TENSOR_GLOBALS = {("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_parameter"),
                          ("torch._utils", "_rebuild_parameter_with_state"), ("collections", "OrderedDict")}


class ScriptObject:
    """An instance of a TorchScript class (__torch__.*) as data.pkl rebuilds it
    (NEWOBJ, then BUILD with the attribute dict): an inert attribute container.
    No code of the archive is run; the subclass only records the class name."""
    qualified_name = None

    def __new__(cls, *args, **kwargs):
        if args or kwargs:
            raise pickle.UnpicklingError(f"{cls.qualified_name} is constructed with arguments")
        return super().__new__(cls)

    def __init__(self):
        self.attrs = None

    def __setstate__(self, state):
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise pickle.UnpicklingError(f"{self.qualified_name} is built from a {type(state).__name__}, "
                                         "not an attribute dict")
        self.attrs = state


class ScriptClasses:
    """One ScriptObject subclass per __torch__ class name a data.pkl asks for
    (NEWOBJ needs a type)."""

    def __init__(self):
        self.types = {}

    def get(self, module, name):
        key = f"{module}.{name}"
        if key not in self.types:
            self.types[key] = type("ScriptObject", (ScriptObject,), {"qualified_name": key})
        return self.types[key]


def is_torchscript(data):
    """A torch.jit.save archive: a zip whose <name>/ folder holds code/ (the
    module's TorchScript source) or constants.pkl beside data.pkl."""
    if not is_zip(data):
        return False
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except Exception:
        return False
    roots = {n[:-len("data.pkl")] for n in names if n.endswith("/data.pkl") and n.count("/") == 1}
    return any(n.startswith(tuple(r + "code/" for r in roots)) or n in {r + "constants.pkl" for r in roots}
               for n in names)


def _script_declarations(z, infos, root, qualified_name, path):
    """The class's declaration in the archive's code/ (the TorchScript printer's
    text, read, never run): (is a Module, parameter names, buffer names), or
    None when the archive holds no such class. Module __torch__.a.b lives in
    code/__torch__/a/b.py."""
    module, _, name = qualified_name.rpartition(".")
    info = infos.get(f"{root}code/{module.replace('.', '/')}.py")
    if info is None:
        return None
    if info.file_size > 1 << 22:  # TorchScript's printout of a network class is kilobytes
        raise ConvertError(f"{path}: {info.filename} of {info.file_size} bytes, refusing")
    text = z.read(info).decode("utf-8", "replace")
    m = re.search(rf"^class {re.escape(name)}(\((\w*)\))?:\n((?:[ \t]+.*\n?|\n)*)", text, re.M)
    if m is None:
        return None
    body = m.group(3)

    def names(key):
        d = re.search(rf"^[ \t]+{key} = (\[[^\]\n]*\])", body, re.M)  # one line: never across lines
        if d is None:
            return []
        try:
            v = ast.literal_eval(d.group(1))  # a list of string literals, never evaluated as code
        except (ValueError, SyntaxError):
            v = None
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ConvertError(f"{path}: {root}code/{module.replace('.', '/')}.py: {key} of {name} is not "
                               "a list of names")
        return v
    return m.group(2) == "Module", names("__parameters__"), names("__buffers__")


def script_state_dict(top, path, infos, z, root):
    """The parameters and buffers of a TorchScript module tree under the names
    module.state_dict() gives (prefix.name, parameters and buffers as each
    class's code declares them, then the submodules in attribute order);
    None parameters, non-tensor attributes (training, ints, lists) and tensors
    that are plain attributes are left out. A class missing from code/ counts
    as a module whose tensor attributes are all state. A module met twice is refused."""
    decls = {}

    def decl(obj):
        q = obj.qualified_name
        if q not in decls:
            d = _script_declarations(z, infos, root, q, path)
            decls[q] = None if d is None else (d[0], set(d[1]) | set(d[2]))
        return decls[q]

    out, seen = collections.OrderedDict(), set()

    def walk(obj, prefix):
        if id(obj) in seen:
            raise ConvertError(f"{path}: module {prefix.rstrip('.') or '(top)'} appears twice in the archive")
        seen.add(id(obj))
        if obj.attrs is None:
            raise ConvertError(f"{path}: {obj.qualified_name} has no attributes (no BUILD in data.pkl)")
        d = decl(obj)
        state = None if d is None else d[1]
        children = []
        for name, v in obj.attrs.items():
            if isinstance(v, torch.Tensor):
                if state is None or name in state:
                    out[prefix + name] = v
            elif isinstance(v, ScriptObject):
                cd = decl(v)
                if cd is None or cd[0]:
                    children.append((name, v))
        if state is not None:
            for name in sorted(state):
                v = obj.attrs.get(name)
                if name not in obj.attrs or not (v is None or isinstance(v, torch.Tensor)):
                    what = "absent" if name not in obj.attrs else "not a tensor"
                    raise ConvertError(f"{path}: {prefix}{name} is declared a parameter or buffer of "
                                       f"{obj.qualified_name} but is {what}")
        for name, v in children:
            walk(v, prefix + name + ".")

    if not isinstance(top, ScriptObject):
        raise ConvertError(f"{path}: the TorchScript archive holds a {type(top).__name__}, not a module")
    walk(top, "")
    return out


def read_torchscript(path, data):
    """A torch.jit.save archive -> (the top class's name, its state dict).
    Read like a torch.save zip, with __torch__.* classes as inert containers:
    neither the code in code/ nor constants.pkl is run or unpickled."""
    top, infos, z = read_zip_torch(data, path, script=True)
    root = next(n for n in infos if n.endswith("/data.pkl") and n.count("/") == 1)[:-len("data.pkl")]
    name = top.qualified_name if isinstance(top, ScriptObject) else type(top).__name__
    return name, script_state_dict(top, path, infos, z, root)


def is_legacy_torch(data):
    # A legacy torch.save file starts with a pickled magic number (read with the
    # restricted unpickler: this file is not trusted yet), in whatever pickle
    # protocol it was saved with: torch.load reads protocol 0 and 1 files too.
    try:
        return RestrictedUnpickler(io.BytesIO(data[:64]), "", {}).load() == LEGACY_MAGIC
    except Exception:
        return False
