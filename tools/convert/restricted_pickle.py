"""The restricted unpickler: module source embedded in a pickle is never
executed, and a pickle asking for anything beyond tensors, containers, NumPy
numbers and arrays and the persistence stand-ins is refused. Tensors are
rebuilt from raw bytes with NumPy, never with torch.load."""
import collections
import math
import pickle
import pickletools

import numpy as np
import torch

from .errors import ConvertError


class PersistentObject:
    """What torch_utils.persistence would rebuild, without its source: the class
    name and the saved object state (a module's __dict__)."""

    def __init__(self, meta):
        if not isinstance(meta, dict) or not isinstance(meta.get("state"), dict):
            raise pickle.UnpicklingError("persistent object without a state dict")
        self.class_name = meta.get("class_name")
        self.module_src = meta.get("module_src") if isinstance(meta.get("module_src"), str) else ""
        self.state = meta["state"]


def _reconstruct_persistent_obj(meta):
    return PersistentObject(meta)


class EasyDict(dict):
    """Stand-in for dnnlib.util.EasyDict (plain data)."""


class TFNetwork:
    """Stand-in for PGGAN's tfutil.Network: keeps the pickled state (name,
    static_kwargs, variables, and build_module_src as text that is never run)."""

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise pickle.UnpicklingError("tfutil.Network state is not a dict")
        self.state = state


# TensorFlow network classes by the module and name their pickles record.
TF_NETWORK_CLASSES = {("tfutil", "Network"): TFNetwork, ("dnnlib.tflib.network", "Network"): TFNetwork}


# Tensors are rebuilt from raw bytes with numpy, never with torch.load (which on
# torch < 2.6 can run code even with weights_only=True, CVE-2025-32434). Storage
# types are mapped to dtypes by name only; the classes are never called.
_STORAGE_DTYPES = {
    "FloatStorage": ("<f4", None), "DoubleStorage": ("<f8", None), "HalfStorage": ("<f2", None),
    "BFloat16Storage": ("<i2", "bfloat16"), "LongStorage": ("<i8", None), "IntStorage": ("<i4", None),
    "ShortStorage": ("<i2", None), "CharStorage": ("i1", None), "ByteStorage": ("u1", None),
    "BoolStorage": ("?", None),
}


class StorageType:
    """Stand-in for torch.FloatStorage and the like: a name and a dtype."""

    def __init__(self, name):
        self.name = name
        self.np_dtype = np.dtype(_STORAGE_DTYPES[name][0])
        self.view_as = _STORAGE_DTYPES[name][1]

    def __call__(self, *args, **kwargs):
        raise pickle.UnpicklingError(f"pickle calls torch.{self.name}")

    def __setstate__(self, state):
        _refuse_build(self, state)


class StorageRef:
    """A storage persistent id: ('storage', type, key, location, numel[, view])."""

    def __init__(self, pid, where):
        if not isinstance(pid, tuple) or len(pid) not in (5, 6) or pid[0] not in ("storage", b"storage"):
            raise ConvertError(f"{where}: unexpected persistent id {str(pid)[:80]}")
        stype, key, _location, numel = pid[1:5]
        if not isinstance(stype, StorageType):
            raise ConvertError(f"{where}: persistent id names {str(stype)[:80]}, not a storage type")
        if not isinstance(key, str) or not isinstance(numel, int) or isinstance(numel, bool) or numel < 0:
            raise ConvertError(f"{where}: malformed storage persistent id")
        if len(pid) == 6 and pid[5] is not None:
            raise ConvertError(f"{where}: storage views are not supported")
        self.type, self.key, self.numel = stype, key, numel
        self.array = None  # filled in from the raw bytes
        self.rebuilt = 0   # elements copied out of it by tensors so far

    def __setstate__(self, state):
        _refuse_build(self, state)

    def set_bytes(self, raw, where):
        if len(raw) != self.numel * self.type.np_dtype.itemsize:
            raise ConvertError(f"{where}: storage {self.key} has {len(raw)} bytes, expected "
                               f"{self.numel} x {self.type.np_dtype.itemsize}")
        self.array = np.frombuffer(raw, dtype=self.type.np_dtype).copy()


def _int_tuple(v):
    return isinstance(v, (tuple, list)) and all(isinstance(x, int) and not isinstance(x, bool) for x in v)


_MAX_REBUILDS_PER_STORAGE = 8


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    if not isinstance(storage, StorageRef) or storage.array is None:
        raise pickle.UnpicklingError("tensor without a loaded storage")
    if not (isinstance(offset, int) and offset >= 0 and _int_tuple(size) and _int_tuple(stride)
            and len(size) == len(stride) and all(x >= 0 for x in tuple(size) + tuple(stride))):
        raise pickle.UnpicklingError(f"tensor with a bad layout (offset {offset}, size {size}, stride {stride})")
    # The last element must lie in the storage. More elements than the storage
    # holds is fine (an expand()ed tensor, stride 0, as torch.save keeps it);
    # the bound below keeps such views from asking for unbounded memory.
    if 0 not in size:
        last = offset + sum((n - 1) * st for n, st in zip(size, stride))
        if last >= storage.array.size:
            raise pickle.UnpicklingError(f"tensor of size {list(size)} does not fit its storage of {storage.array.size}")
    # Each tensor is a copy: a pickle that builds one storage's tensor over and
    # over would ask for memory without bound from a few bytes. Real files
    # share a storage between a few views at most.
    storage.rebuilt += math.prod(size)
    if storage.rebuilt > _MAX_REBUILDS_PER_STORAGE * max(storage.array.size, 1 << 16):
        raise pickle.UnpicklingError(f"storage {storage.key} is rebuilt into tensors more than "
                                     f"{_MAX_REBUILDS_PER_STORAGE} times its size")
    t = torch.from_numpy(storage.array)
    if storage.type.view_as:
        t = t.view(getattr(torch, storage.type.view_as))
    return _guard_tensor(t.as_strided(tuple(size), tuple(stride), offset).clone())


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    if not isinstance(data, torch.Tensor):
        raise pickle.UnpicklingError("parameter without a tensor")
    return data


class Namespace:
    """Stand-in for argparse.Namespace (rosinality checkpoints record their args)."""


def _np_core():
    return getattr(np, "_core", None) or np.core


def _refuse_build(self, state):
    """BUILD on an object the unpickler's stand-ins make: no real file does it,
    and a StorageRef's counters or a StorageType's dtype set by the file would
    undo their checks."""
    raise pickle.UnpicklingError(f"pickle sets the state of a {type(self).__name__}")


def _refuse_tensor_state(state):
    # Tensor.__setstate__ with 4 items is set_(), which grows a storage to any
    # size the file names; torch.save never BUILDs a tensor.
    raise pickle.UnpicklingError("pickle sets the state of a tensor")


def _guard_tensor(t):
    """An instance attribute wins over Tensor.__setstate__ in BUILD's lookup."""
    t.__dict__["__setstate__"] = _refuse_tensor_state
    return t


# NumPy objects a network pickle holds: numeric scalars (module attributes)
# and numeric arrays (TF variables), as NumPy pickles them. Each call is
# checked before NumPy sees it: object, structured or subarray dtypes let a
# file forge pointers, nest arrays past the C stack or ask for gigabytes.
_NUMPY_CODES = frozenset(["b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "c8", "c16"])
_MAX_ARRAY_DIMS = 32  # NPY_MAXDIMS


def _exactly(v, want):
    """v equals want item by item and type by type (True is not 1, 1.0 is not 1)."""
    return (type(v) is type(want) and len(v) == len(want)
            and all(type(a) is type(b) and a == b for a, b in zip(v, want)))


def _numpy_bytes(data):
    # A Python 2 pickle's str holds the bytes: read here as ASCII (the
    # unpickler's default encoding; bytes past 0x7f fail to load), as NumPy
    # reads it when loaded with latin-1.
    return data.encode("latin-1") if isinstance(data, str) else data


class NumpyDtype:
    """numpy.dtype(code, False, True) of a numeric code, as NumPy pickles a
    dtype, and its BUILD state only in the form NumPy writes for it; made into
    a real dtype by the scalar and array stand-ins."""
    __slots__ = ("code", "order")

    def __init__(self, code, align=False, copy=True):
        if not (isinstance(code, str) and code in _NUMPY_CODES and type(align) in (bool, int) and align == 0
                and type(copy) in (bool, int) and copy == 1):
            raise pickle.UnpicklingError(f"pickle asks for numpy dtype {str(code)[:40]!r}; numeric dtypes only")
        self.code, self.order = code, "|" if code[1:] == "1" else "<"

    def __setstate__(self, state):
        orders = ("|",) if self.code[1:] == "1" else ("<", ">")
        if not any(_exactly(state, (3, o, None, None, None, -1, -1, 0)) for o in orders):
            raise pickle.UnpicklingError(f"pickle gives numpy dtype {self.code} a state other than a plain "
                                         "number's (fields, a subarray or flags)")
        self.order = state[1]

    def real(self):
        return np.dtype(self.code).newbyteorder(self.order)


def _numpy_scalar(dtype, data=None):
    """numpy.core.multiarray.scalar(dtype, bytes of one item)."""
    data = _numpy_bytes(data)
    if not isinstance(dtype, NumpyDtype) or not isinstance(data, bytes) or len(data) != dtype.real().itemsize:
        raise pickle.UnpicklingError("pickle makes a numpy scalar other than a number from its bytes")
    return _np_core().multiarray.scalar(dtype.real(), data)


class NumpyArrayType:
    """Stand-in for numpy.ndarray: only named to _reconstruct, never called
    (a call allocates whatever shape the file names)."""
    __slots__ = ()
    __setstate__ = _refuse_build

    def __call__(self, *args, **kwargs):
        raise pickle.UnpicklingError("pickle calls numpy.ndarray")


NUMPY_NDARRAY = NumpyArrayType()


class NumpyArray(np.ndarray):
    """What _reconstruct makes: its state (NumPy's (1, shape, dtype,
    is_fortran, raw bytes)) checked before ndarray.__setstate__ sees it."""

    def __setstate__(self, state):
        if not (type(state) is tuple and len(state) == 5 and _exactly(state[:1], (1,))
                and isinstance(state[2], NumpyDtype) and type(state[3]) is bool):
            raise pickle.UnpicklingError("pickle gives a numpy array a state other than NumPy's (1, shape, dtype, "
                                         "is_fortran, bytes)")
        shape, dtype, raw = state[1], state[2].real(), _numpy_bytes(state[4])
        if not (_int_tuple(shape) and type(shape) is tuple and len(shape) <= _MAX_ARRAY_DIMS
                and all(0 <= n < 1 << 40 for n in shape)):
            raise pickle.UnpicklingError("pickle gives a numpy array a shape other than up to 32 sizes in [0, 2^40)")
        if not isinstance(raw, bytes) or len(raw) != math.prod(shape) * dtype.itemsize:
            raise pickle.UnpicklingError(f"numpy array of shape {list(shape)} and dtype {dtype} with "
                                         f"{len(raw) if isinstance(raw, bytes) else 'no'} bytes of data")
        super().__setstate__((1, shape, dtype, state[3], raw))


def _numpy_reconstruct(subtype, shape, typecode):
    """numpy.core.multiarray._reconstruct(ndarray, (0,), b'b'), NumPy's first
    step in unpickling an array: an empty one, filled in by BUILD."""
    if subtype is not NUMPY_NDARRAY or not _exactly(shape, (0,)) or _numpy_bytes(typecode) != b"b":
        raise pickle.UnpicklingError("pickle calls numpy's _reconstruct other than as NumPy pickles an array")
    return _np_core().multiarray._reconstruct(NumpyArray, (0,), b"b")


def _allowed_globals(storage_loader=None):
    allowed = {
        ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
        ("dnnlib.util", "EasyDict"): EasyDict,
        ("dnnlib", "EasyDict"): EasyDict,
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("argparse", "Namespace"): Namespace,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
        ("numpy", "dtype"): NumpyDtype,
        ("numpy", "ndarray"): NUMPY_NDARRAY,
        **TF_NETWORK_CLASSES,
    }
    if storage_loader is not None:
        allowed[("torch.storage", "_load_from_bytes")] = storage_loader
    # Module attributes such as weight_gain are numpy scalars; these rebuild
    # numeric scalars and arrays from raw bytes.
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "scalar")] = _numpy_scalar
        allowed[(mod, "_reconstruct")] = _numpy_reconstruct
    return allowed


def _storage_globals():
    return {("torch", name): StorageType(name) for name in _STORAGE_DTYPES}


_MEMO_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}


def _check_memo(f, path):
    """Refuses a pickle that stores into a memo slot beyond any a pickler
    makes: the C unpickler grows its memo array to the index, so 9 bytes
    asking for slot 2^30 took 17 GB and half a minute. A pickler numbers its
    slots in order, so a slot index is never above the opcodes read so far.
    Reads from f's position to the STOP opcode, then puts f back."""
    start = f.tell()
    try:
        for count, (op, arg, _) in enumerate(pickletools.genops(f)):
            if op.name in _MEMO_PUTS and arg > count:
                raise ConvertError(f"{path}: a damaged pickle (it stores into memo slot {arg} after "
                                   f"{count} opcodes); nothing written")
    except ConvertError:
        raise
    except Exception:  # a malformed stream: the unpickler itself names it
        pass
    finally:
        f.seek(start)


class RestrictedUnpickler(pickle.Unpickler):
    """allowed: {(module, name): object}; storages: None (persistent ids refused)
    or a dict collecting the StorageRefs by key; script_classes: None (refused)
    or a ScriptClasses that stands in for a TorchScript archive's __torch__.* classes."""

    def __init__(self, f, path, allowed=None, storages=None, script_classes=None):
        _check_memo(f, path)
        super().__init__(f)
        self.path = path
        self.allowed = _allowed_globals() if allowed is None else allowed
        self.storages = storages
        self.script_classes = script_classes

    def find_class(self, module, name):
        if (module, name) == ("network", "Network"):
            raise ConvertError(f"{self.path}: a Theano-era PGGAN pickle (network.Network); load it with the "
                               "official code (legacy.py) and save it again as a TensorFlow pickle")
        if self.script_classes is not None and (module == "__torch__" or module.startswith("__torch__.")):
            return self.script_classes.get(module, name)
        fn = self.allowed.get((module, name))
        if fn is None:
            raise ConvertError(f"{self.path}: pickle asks for {module}.{name}, refusing")
        return fn

    def persistent_load(self, pid):
        if self.storages is None:
            raise ConvertError(f"{self.path}: pickle uses persistent ids (a torch.save file?), refusing")
        ref_ = StorageRef(pid, self.path)
        prev = self.storages.get(ref_.key)
        if prev is not None:
            if prev.type.name != ref_.type.name or prev.numel != ref_.numel:
                raise ConvertError(f"{self.path}: storage {ref_.key} recorded with two types or sizes")
            return prev
        self.storages[ref_.key] = ref_
        return ref_


def _guarded(path, fn):
    try:
        return fn()
    except ConvertError:
        raise
    except Exception as e:  # truncated or malformed streams raise many types
        why = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        raise ConvertError(f"{path}: not a readable pickle ({why})")
