"""Reading and writing a .bin (safetensors layout) in the test scripts that
damage one on purpose (hostile_inputs.py, edit_metadata.py, edit_tensor.py):
the header as a dict and the data section as bytes. write() recomputes the
data's and the metadata's CRC-32 (metadata data_crc32 and metadata_crc32,
engine/io/safetensors.h) where the header has them, so a test's change
reaches the check it targets rather than the CRC's. Standard library only."""
import json
import struct
import zlib


def read(path):
    """-> (header dict, data bytes)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    return header, data


def metadata_crc(meta):
    """metadata_crc32's value: engine/io/safetensors.h's kMetadataCrcKey."""
    crc = 0
    for key in sorted(meta):
        if key not in ("data_crc32", "metadata_crc32"):
            for text in (key, meta[key]):
                crc = zlib.crc32(text.encode("utf-8", "surrogatepass") + b"\0", crc)
    return f"{crc:08x}"


def write(path, header, data):
    meta = header.get("__metadata__") or {}
    if "data_crc32" in meta:
        meta["data_crc32"] = f"{zlib.crc32(bytes(data)):08x}"
    if "metadata_crc32" in meta:
        meta["metadata_crc32"] = metadata_crc(meta)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + bytes(data))
