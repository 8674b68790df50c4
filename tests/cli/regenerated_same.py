#!/usr/bin/python3
"""A golden-data or fixture script of tools/fixtures/ run again gives what tests/data
holds (tests/cli/fixtures.cmake): a script that stopped running, or drifted
from the data the tests read, fails here instead of at the next need to
regenerate (tools/fixtures/make_stylegan_fixtures.py had silently stopped running).
  regenerated_same.py SCRIPT WORK [--outdir FILES]
runs `python3 tools/fixtures/SCRIPT WORK/out.bin` (or `--outdir WORK/out`, where it
must write exactly the FILES named, comma-separated) and compares every file
it writes with tests/data's file of the same name (with an [out] script:
the data file its --help names as the default):
  - safetensors (.bin): the same tensor names, dtypes and shapes; values
    within 1e-5 of the tensor's largest magnitude (the scripts' float32
    PyTorch steps differ in their last bits at other thread counts), whole
    numbers exactly, NaNs and infinities at the same places; the
    float32-rounding estimates of the step fixtures ("expect/.../noise/"
    tensors, max |float32 - float64| of one run) only finite and
    non-negative; metadata not compared (the writer's own keys change:
    crc32s, kwargs it adds);
  - .json, .zip, .txt: byte for byte; other kinds (.pt, .pkl) not compared.
Prints "regenerated same: N files" when every file agrees.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32, "U8": np.uint8,
          "I8": np.int8, "I16": np.int16, "BOOL": np.bool_}


def tensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    head.pop("__metadata__", None)
    body = raw[8 + n:]
    out = {}
    for k, v in head.items():
        begin, end = v["data_offsets"]
        out[k] = (v["dtype"], v["shape"], np.frombuffer(body[begin:end], DTYPES[v["dtype"]]))
    return out


def differences(new, old):
    a, b = tensors(new), tensors(old)
    if sorted(a) != sorted(b):
        return [f"tensor names differ: only new {sorted(set(a) - set(b))[:5]}, "
                f"only stored {sorted(set(b) - set(a))[:5]}"]
    out = []
    for k in sorted(a):
        (da, sa, va), (db, sb, vb) = a[k], b[k]
        if (da, sa) != (db, sb):
            out.append(f"{k}: {da} {sa}, stored {db} {sb}")
        elif k.startswith("expect/") and "/noise/" in k:
            if not (np.all(np.isfinite(va)) and np.all(va >= 0)):
                out.append(f"{k}: a rounding estimate that is negative or not finite")
        elif va.dtype.kind in "iub":
            if not np.array_equal(va, vb):
                out.append(f"{k}: whole numbers differ")
        else:
            x, y = va.astype(np.float64), vb.astype(np.float64)
            if not np.array_equal(np.isnan(x), np.isnan(y)) or not np.array_equal(x[np.isinf(x)], y[np.isinf(x)]) \
                    or not np.array_equal(np.isinf(x), np.isinf(y)):
                out.append(f"{k}: NaNs or infinities at other places")
                continue
            ok = np.isfinite(x)
            scale = np.max(np.abs(y[ok]), initial=0.0)
            worst = np.max(np.abs(x[ok] - y[ok]), initial=0.0)
            if worst > 1e-5 * scale:
                out.append(f"{k}: differs by {worst:.3g} (largest stored magnitude {scale:.3g})")
    return out


def main():
    script, work = sys.argv[1], sys.argv[2]
    outdir_mode = sys.argv[3:4] == ["--outdir"]
    expected = sorted(sys.argv[4].split(",")) if outdir_mode else None
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    tool = os.path.join(ROOT, "tools", "fixtures", script)
    if outdir_mode:
        out = os.path.join(work, "out")
        cmd = [sys.executable, tool, "--outdir", out]
    else:
        # Unwrapped (argparse breaks a long path at the terminal's width).
        usage = subprocess.run([sys.executable, tool, "--help"], capture_output=True, text=True,
                               env=dict(os.environ, COLUMNS="100000")).stdout
        m = re.search(r"default (\S+?)\)", usage.replace("\n", " "))
        if not m:
            print(f"{script} --help names no default file")
            return 1
        stored = os.path.basename(m.group(1))
        out = os.path.join(work, "new")
        os.makedirs(out)
        cmd = [sys.executable, tool, os.path.join(out, stored)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        print(f"{' '.join(cmd)} exited {run.returncode}:\n{run.stdout}{run.stderr}")
        return 1
    compared, bad = 0, []
    if expected is not None and sorted(os.listdir(out)) != expected:
        bad.append(f"wrote {sorted(os.listdir(out))}, expected {expected}")
    for name in sorted(os.listdir(out)):
        new, old = os.path.join(out, name), os.path.join(ROOT, "tests", "data", name)
        if not os.path.exists(old):
            bad.append(f"{name}: written, but tests/data has none")
            continue
        ext = os.path.splitext(name)[1]
        if ext == ".bin":
            bad += [f"{name}: {d}" for d in differences(new, old)]
        elif ext in (".json", ".zip", ".txt"):
            with open(new, "rb") as f, open(old, "rb") as g:
                if f.read() != g.read():
                    bad.append(f"{name}: bytes differ")
        else:
            continue
        compared += 1
    for line in bad[:20]:
        print(line)
    if bad or compared == 0:
        print(f"regenerated differs: {len(bad)} problems, {compared} files compared")
        return 1
    print(f"regenerated same: {compared} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
