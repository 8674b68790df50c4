""".bin files (safetensors): the metadata's and data's CRC-32, the network
config checks the programs make on load, writing and reading (checked as the
C++ reader checks)."""
import json
import struct
import sys
import zlib

import numpy as np
import torch

from .config_values import _shown, setting_problem
from .errors import ConvertError, one_line
from .files import read_input_file, write_atomic


_DT = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "BF16": np.uint16}  # BF16: its bits, viewed below
MAX_HEADER = 100000000  # the safetensors library's MAX_HEADER_SIZE, as engine/io/safetensors.cpp
DATA_CRC_KEY = "data_crc32"  # the C++ writer's (engine/io/safetensors.h), checked by both readers
METADATA_CRC_KEY = "metadata_crc32"  # the same for the metadata (kMetadataCrcKey)


def metadata_crc(meta):
    """kMetadataCrcKey's value (engine/io/safetensors.h): the CRC-32 of every
    entry but the two checks, in key order, each key and value followed by a
    zero byte."""
    crc = 0
    for key in sorted(meta):
        if key in (DATA_CRC_KEY, METADATA_CRC_KEY):
            continue
        for text in (key, meta[key]):
            crc = zlib.crc32(text.encode("utf-8", "surrogatepass") + b"\0", crc)
    return f"{crc:08x}"


# What models/*/config.cpp refuses when it reads a config, so that the
# converter refuses it too instead of writing a file no program loads:
# key -> (test, wanted). Counts apply to StyleGAN2 configs only (PGGAN and
# StyleGAN read a group size <= 1 as no minibatch-stddev layer).
_POSITIVE = ("mapping_lr_multiplier", "mapping_lrmul", "pixelnorm_epsilon")
_FRACTION = ("w_avg_beta", "dlatent_avg_beta", "style_mixing_prob")
_STYLEGAN2_COUNTS = ("mbstd_group_size", "mbstd_num_channels", "cmap_dim", "freeze_layers")


def check_kwargs(metadata, src):
    """Raises ConvertError naming the key for a network config value that is
    not finite (json.dumps wrote a bare NaN, which is not JSON), not of the
    type the programs read (a float or a bool where a whole number belongs),
    beyond their network size limit, or outside what they accept (a mapping
    lr multiplier of 0, a clamp of 0)."""
    family = metadata.get("family", "stylegan2")
    for which in ("G_kwargs", "D_kwargs", "psp_kwargs"):
        if which not in metadata:
            continue
        for key, v in json.loads(metadata[which]).items():
            number = isinstance(v, (int, float)) and not isinstance(v, bool)
            problem = setting_problem(key, v, family, strict=True)
            if problem:
                pass
            elif number and key in _POSITIVE and not v > 0:
                problem = "not > 0"
            elif number and key in _FRACTION and not 0 <= v <= 1:
                problem = "not in [0, 1]"
            elif key == "conv_clamp" and v is not None and number and not v > 0:
                problem = "neither None (no clamp) nor > 0"
            elif family == "stylegan2" and number and key in _STYLEGAN2_COUNTS and v < 0:
                problem = "negative"
            if problem:
                raise ConvertError(f"{src}: the network's {key} is {_shown(v)}, {problem}: a damaged or edited "
                                   f"pickle (no program loads such a {which}); nothing written")
    if family == "stylegan2" and "D_kwargs" in metadata:
        # models/stylegan2/discriminator.cpp refuses it, as networks.py's
        # MinibatchStdLayer cannot reshape such channels.
        d = json.loads(metadata["D_kwargs"])
        groups = d.get("mbstd_num_channels", 1)
        channels = min(d.get("channel_base", 32768) // 4, d.get("channel_max", 512))
        if groups > 0 and channels % groups:
            raise ConvertError(f"{src}: the discriminator's mbstd_num_channels {groups} does not divide its 4x4 "
                               f"block's {channels} channels (the official MinibatchStdLayer cannot run it); "
                               "nothing written")


def write_bin(path, tensors, metadata, src=None):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        array = tensors[name].numpy().astype("<f4")
        # Weights are finite: a NaN or an infinity (a damaged file, or a float64
        # beyond float32's range) made a network that draws NaN images silently.
        # The tracked mean of W (w_avg, v1's dlatent_avg) is passed over with a
        # warning, as the programs take it (models/network_file.h): a diverged
        # run overflows it while its weights stay finite, and the official code
        # uses it only to truncate.
        bad = np.flatnonzero(~np.isfinite(array))
        if bad.size and name.endswith(("w_avg", "dlatent_avg")):
            print(f"convert_weights: warning: {src or path}: {name} is not finite ({bad.size} values; its training "
                  "diverged): generate with --trunc 1, which does not use it", file=sys.stderr)
        elif bad.size:
            index = tuple(int(i) for i in np.unravel_index(bad[0], array.shape))
            raise ConvertError(f"{src or path}: tensor {name} holds {array.flat[bad[0]]} at {list(index)} "
                               f"({bad.size} values not finite); weights must be finite numbers")
        if name.endswith("running_var") and (array < 0).any():  # as models/network_file.cpp refuses on load
            raise ConvertError(f"{src or path}: tensor {name} holds {array[array < 0].flat[0]}: a running variance "
                               "is >= 0 (a damaged checkpoint); nothing written")
        data = array.tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    check_kwargs(metadata, src or path)
    crc = 0
    for blob in blobs:
        crc = zlib.crc32(blob, crc)
    meta = dict(metadata, **{DATA_CRC_KEY: f"{crc:08x}"})
    meta[METADATA_CRC_KEY] = metadata_crc(meta)
    header["__metadata__"] = meta
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    write_atomic(path, [struct.pack("<Q", len(head)), head] + blobs)


class _RepeatedKey(ValueError):
    pass


def _unique_keys(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise _RepeatedKey(f"the key {json.dumps(k)} appears twice in one object")
        out[k] = v
    return out


def _no_lone_surrogates(v):
    """An escaped lone surrogate ("\\ud800") is no Unicode text; nlohmann refuses it."""
    for x in (v.items() if isinstance(v, dict) else v if isinstance(v, list) else ()):
        for s in (x if isinstance(x, tuple) else (x,)):
            if isinstance(s, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in s):
                raise ValueError(f"a lone surrogate in {json.dumps(s)}")
            if isinstance(s, (dict, list)):
                _no_lone_surrogates(s)


def _safetensors_header(raw, path):
    """The header as the C++ reader (engine/io/safetensors.cpp) and the
    safetensors library take it: it begins with '{', is strict UTF-8 JSON
    (no NUL byte, which ends the C++ parse, no byte-order mark, no encoded
    surrogates), an object whose keys appear once each, and whose
    __metadata__, if any, maps strings to strings."""
    if len(raw) > MAX_HEADER:
        raise ConvertError(f"{path}: header of {len(raw)} bytes, over safetensors' {MAX_HEADER}")
    if not raw.startswith(b"{"):
        raise ConvertError(f"{path}: header does not begin with '{{' (not a .bin file?)")
    nul = raw.find(b"\0")
    if nul >= 0:
        raise ConvertError(f"{path}: header: not JSON: a NUL byte at byte {nul}")
    def no_constant(name):  # NaN, Infinity: Python's json takes them, JSON and nlohmann do not
        raise ValueError(f"{name} is not JSON")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=no_constant)
        _no_lone_surrogates(header)
    except RecursionError:
        raise ConvertError(f"{path}: header: JSON nested too deep")
    except UnicodeDecodeError as e:
        raise ConvertError(f"{path}: header is not UTF-8 (byte {e.start})")
    except _RepeatedKey as e:
        raise ConvertError(f"{path}: header: {e}")
    except ValueError as e:
        raise ConvertError(f"{path}: header is not JSON ({one_line(str(e), 200)}; not a .bin file?)")
    if not isinstance(header, dict):
        raise ConvertError(f"{path}: header is not a JSON object")
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ConvertError(f"{path}: __metadata__ must map strings to strings (safetensors' rule)")
    return header


def _whole_numbers(v, count=None):
    """A JSON list of whole numbers >= 0 (not true, not 4.0), count long if given."""
    return (isinstance(v, list) and (count is None or len(v) == count)
            and all(type(x) is int and x >= 0 for x in v))


def read_bin(path, keep_crc_key=False):
    """A ganforge .bin (safetensors) -> ({name: tensor}, metadata), checked;
    the metadata's and the data's CRC-32 keys are checked and left out of
    the metadata unless keep_crc_key."""
    data = read_input_file(path)
    if len(data) < 8:
        raise ConvertError(f"{path}: truncated (no header length)")
    n = struct.unpack("<Q", data[:8])[0]
    if 8 + n > len(data):
        kind = "a NumPy .npy file" if data[:6] == b"\x93NUMPY" else "not a ganforge .bin, or truncated"
        raise ConvertError(f"{path}: {kind} (its first 8 bytes give a header of {n} bytes; the file has {len(data)})")
    header = _safetensors_header(data[8:8 + n], path)
    meta = header.pop("__metadata__", {})
    body = memoryview(data)[8 + n:]
    # The writer's CRC-32 of the data section (engine/io/safetensors.h): a
    # flipped bit in a weight would be exported as another weight.
    want_meta = meta.get(METADATA_CRC_KEY) if keep_crc_key else meta.pop(METADATA_CRC_KEY, None)
    if want_meta is not None and metadata_crc(meta) != want_meta:
        raise ConvertError(f"{path}: its metadata fails its CRC-32 ({metadata_crc(meta)}, recorded {want_meta!r}): "
                           "damaged since it was written (a bad copy, disk or download); use another copy")
    want = meta.get(DATA_CRC_KEY) if keep_crc_key else meta.pop(DATA_CRC_KEY, None)
    if want is not None and f"{zlib.crc32(body):08x}" != want:
        raise ConvertError(f"{path}: its tensor data fails its CRC-32 ({zlib.crc32(body):08x}, recorded {want!r}): "
                           "damaged since it was written (a bad copy, disk or download); use another copy")
    tensors = {}
    for name, h in header.items():
        if isinstance(h, dict) and isinstance(h.get("dtype"), str) and h["dtype"] not in _DT:
            raise ConvertError(f"{path}: tensor {name} has dtype {h['dtype']}; F32, F64, F16 and BF16 are read")
        # Whole numbers as the C++ reader takes them (engine/io/safetensors.cpp):
        # 4.0 or true ended in a TypeError from slicing.
        if isinstance(h, dict) and "shape" in h and not _whole_numbers(h["shape"]):
            raise ConvertError(f"{path}: tensor '{name}' has a bad shape {json.dumps(h['shape'])[:80]}")
        if isinstance(h, dict) and "data_offsets" in h and not _whole_numbers(h["data_offsets"], 2):
            raise ConvertError(f"{path}: tensor '{name}' has bad data_offsets {json.dumps(h['data_offsets'])[:80]}")
        try:
            dt, shape, (b, e) = _DT[h["dtype"]], h["shape"], h["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise ConvertError(f"{path}: tensor {name} has a bad header entry {h}")
        if not 0 <= b <= e <= len(body) or e - b != int(np.prod(shape)) * np.dtype(dt).itemsize:
            raise ConvertError(f"{path}: tensor {name}: byte range {b}..{e} does not fit the file or its shape")
        values = np.frombuffer(body[b:e], dtype=np.dtype(dt).newbyteorder("<"))
        t = torch.from_numpy(values.astype(dt).reshape(shape))
        tensors[name] = t.view(torch.bfloat16) if h["dtype"] == "BF16" else t
    # The data section tiled by the tensors, as the C++ reader requires
    # (engine/io/safetensors.cpp): a header pointing two tensors at one range
    # exported one's weights as the other's.
    at, previous = 0, None
    for b, e, name in sorted((h["data_offsets"][0], h["data_offsets"][1], name) for name, h in header.items()):
        if b < at:
            raise ConvertError(f"{path}: tensor '{name}' overlaps tensor '{previous}' (data bytes [{b}, {min(at, e)}))")
        if b > at:
            raise ConvertError(f"{path}: data bytes [{at}, {b}) belong to no tensor (before tensor '{name}'): "
                               "a tensor missing from the header?")
        at, previous = e, name
    if at != len(body):
        raise ConvertError(f"{path}: data section has {len(body) - at} bytes no tensor covers")
    return tensors, meta
