"""The benchmarks' FLOP figures (engine/flop_count.h) as they print them:
bench_networks --train's JSON holds the dense products' work per minibatch,
its rate and that rate's fraction of the GEMM reference, consistent with its
own time; more images, more work; profile_step counts the same work for the
same minibatches (the same draws: style mixing skips the second mapping at
random, so the work is not exactly linear in the batch). No figure is
compared with a time limit; the counts themselves are tests/test_flop_count.cpp's.

    bench_flops.py BIN_DIR
"""
import json
import os
import subprocess
import sys

BIN = sys.argv[1]
ENV = dict(os.environ, OMP_NUM_THREADS="1")
SAME = ["--res", "16", "--minibatches", "2", "--warmup", "1"]  # batch_idx 1 and 2 of cfg tiny


def train_json(batch):
    out = subprocess.run([os.path.join(BIN, "bench_networks"), "--train", "tiny", "--batch", str(batch)] + SAME,
                         env=ENV, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(abs(a), abs(b))


two, four = train_json(2), train_json(4)
for r in (two, four):
    assert r["flop_per_minibatch"] > 0, r
    assert r["gemm_tflop_s"] > 0 and r["gemm_reference"].startswith("sgemm 1024^3"), r
    rate = r["flop_per_minibatch"] * r["minibatches"] / r["seconds"] / 1e12
    assert close(r["tflop_s"], rate), (r["tflop_s"], rate)
    assert close(r["fraction_of_gemm"], r["tflop_s"] / r["gemm_tflop_s"]), r
assert four["flop_per_minibatch"] > 1.5 * two["flop_per_minibatch"], (two["flop_per_minibatch"],
                                                                      four["flop_per_minibatch"])

prof = subprocess.run([os.path.join(BIN, "profile_step"), "--cfg", "tiny", "--batch", "2"] + SAME, env=ENV,
                      check=True, capture_output=True, text=True).stdout
line = next(l for l in prof.splitlines() if l.startswith("dense products"))
mflop = float(line.split(": ")[1].split(" MFLOP")[0])
assert abs(mflop - two["flop_per_minibatch"] / 1e6) <= 0.05, (line, two["flop_per_minibatch"])
print("bench flops consistent")
