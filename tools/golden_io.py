"""The one safetensors writer of the golden-data scripts in tools/fixtures/.

Layout: 8-byte little-endian header length, a JSON header (tensor names in
sorted order, each with dtype, shape and byte range; padded with spaces to a
multiple of 8 so the data stays aligned), then the raw little-endian data.
Written to a temporary name (with the process id) and renamed, like every
file ganforge writes; its folder is made at the write. A SIGINT or SIGTERM
meanwhile removes the temporary and ends the process by the signal
(tools/interrupts.py; the scripts call interrupts.die_by_signals first, so a
signal anywhere else ends them as quietly).
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interrupts import exclusive_temporary  # noqa: E402
from output_folder import make_parent_folder, not_a_plain_file  # noqa: E402

_DTYPES = {torch.float32: ("F32", "<f4"), torch.float64: ("F64", "<f8")}


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        code, np_dtype = _DTYPES[t.dtype]
        data = t.numpy().astype(np_dtype).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    write_atomically(path, [struct.pack("<Q", len(head)), head] + blobs)
    return 8 + len(head) + offset


def write_atomically(path, chunks):
    """Writes the byte strings to path through a temporary of this process's (exclusive_temporary)."""
    # Fixtures go to plain files: a rename replaces a link or node itself.
    if not_a_plain_file(path):
        raise SystemExit(f"{path}: {not_a_plain_file(path)}")
    why = make_parent_folder(path)  # only now: a script that fails before its first write leaves no new folder
    if why:
        raise SystemExit(why)
    with exclusive_temporary(path) as tmp:  # SIGINT, SIGTERM: the temporary removed, the process ended by the signal
        try:
            with open(tmp, "wb") as f:
                for b in chunks:
                    f.write(b)
            os.replace(tmp, path)
        except BaseException:  # a failed write (or Ctrl-C under a handler of the caller's) leaves no temporary
            if os.path.exists(tmp):
                os.remove(tmp)
            raise


def read_safetensors(path):
    """-> ({name: float tensor}, metadata) of a file write_safetensors (or
    ganforge) wrote: F32 and F64 tensors, little-endian."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", None) or {}
    body = data[8 + n:]
    codes = {code: np_dtype for code, np_dtype in _DTYPES.values()}
    tensors = {}
    for name, h in header.items():
        b, e = h["data_offsets"]
        a = np.frombuffer(body[b:e], dtype=codes[h["dtype"]]).reshape(h["shape"])
        tensors[name] = torch.from_numpy(a.astype(a.dtype.newbyteorder("=")))
    return tensors, meta
