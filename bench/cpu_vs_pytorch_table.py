#!/usr/bin/env python3
"""Issue 19's table in one command: ganforge's CPU training against PyTorch's
on the same networks, as sec/kimg and ratios, for tiny, small and auto at
32x32x1, with 1 and 2 threads, then again with a competing load (a busy loop
in another process, which keeps one core busy) beside both.

Each row is one run of bench/torch_vs_ganforge.py (PyTorch and ganforge
interleaved in rounds, medians, ratio = ganforge / PyTorch; below 1 means
ganforge is faster). A loaded row's slowdown is its sec/kimg over the same
config's unloaded row, for each side: the issue asks that ganforge's be no
larger than PyTorch's. Targets: small <= 0.7 at 2 threads and <= 0.8 at 1
thread, tiny and auto <= 1.0.

  /usr/bin/python3 bench/cpu_vs_pytorch_table.py                 # the whole table (about an hour on 2 cores)
  /usr/bin/python3 bench/cpu_vs_pytorch_table.py --cfgs small --threads 2 --rounds 1   # one quick row pair

Run it on an otherwise idle machine: the loaded rows bring their own load,
and any other load makes both sets of rows meaningless. Needs PyTorch
(python3-torch) and a built build/bin/bench_networks.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIDE_BY_SIDE = os.path.join(HERE, "torch_vs_ganforge.py")
sys.path.insert(0, os.path.join(ROOT, "tools"))
import bench_json  # noqa: E402  (standard library only)
import pydeps  # noqa: E402  (standard library only: one-line flag errors)

# cfg -> {threads: largest ratio}, from issue 19.
TARGETS = {"small": {2: 0.7, 1: 0.8}, "tiny": {}, "auto": {}}


def target(cfg, threads):
    return TARGETS.get(cfg, {}).get(threads, 1.0)


def int_list(text, allow_empty=False):
    try:
        v = [int(x) for x in text.split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(f"needs comma-separated whole numbers, got '{text}'")
    if (not v and not allow_empty) or (v and min(v) < 1):
        raise argparse.ArgumentTypeError(f"needs whole numbers >= 1, got '{text}'")
    return v


def int_list_or_none(text):
    """As int_list, and "" for none (--load-threads "")."""
    return int_list(text, allow_empty=True)


def side_by_side(args, cfg, threads, tmp, tag):
    out = os.path.join(tmp, f"{cfg}-{threads}-{tag}.json")
    cmd = [sys.executable, SIDE_BY_SIDE, "--cfg", cfg, "--device", "cpu", "--threads", str(threads),
           "--minibatches", str(args.minibatches), "--warmup", str(args.warmup), "--rounds", str(args.rounds),
           "--ganforge", args.ganforge, "--json", out]
    print(f"== {cfg}, {threads} thread(s), {tag}: {' '.join(cmd[1:])}", flush=True)
    p = subprocess.run(cmd)
    if p.returncode != 0:
        sys.exit(f"cpu_vs_pytorch_table: torch_vs_ganforge.py failed ({p.returncode}) for {cfg} at {threads} threads")
    with open(out) as f:
        return json.load(f)


class BusyLoop:
    """A competing program: one process spinning on one core while alive."""

    def __enter__(self):
        self.p = subprocess.Popen([sys.executable, "-c", "while True:\n    pass\n"])
        return self

    def __exit__(self, *exc):
        self.p.kill()
        self.p.wait()


def main():
    p = pydeps.OneLineParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--cfgs", default="tiny,small,auto", help="configs (default tiny,small,auto)")
    p.add_argument("--threads", type=int_list, default=[1, 2], help="thread counts (default 1,2)")
    p.add_argument("--load-threads", type=int_list_or_none, default=[2],
                   help="thread counts also run beside the busy loop (default 2; empty: none)")
    p.add_argument("--no-load", action="store_true", help="skip the rows under load")
    p.add_argument("--minibatches", type=pydeps.integer(1, 100000), default=16, help="per side per round (default 16: one lazy schedule)")
    p.add_argument("--warmup", type=pydeps.integer(0, 100000), default=2, help="untimed minibatches first (default 2)")
    p.add_argument("--rounds", type=pydeps.integer(1, 1000), default=3, help="interleaved rounds per row (default 3)")
    p.add_argument("--ganforge", default=os.path.join(ROOT, "build", "bin", "bench_networks"),
                   help="ganforge's bench_networks (default build/bin/bench_networks)")
    p.add_argument("--json", default="", help="also write every row here")
    args = p.parse_args()
    cfgs = [c for c in args.cfgs.split(",") if c]
    if not cfgs:
        p.error(f"--cfgs needs at least one config, got '{args.cfgs}'")  # an empty table proves nothing
    bench_json.check_path(p, args.json)  # before an hour of benchmarks, not after
    # A loaded row's slowdown is over the idle row of its thread count: one
    # without it compared nothing (and counted as met).
    missing = [t for t in args.load_threads if t not in args.threads]
    if missing and not args.no_load:
        p.error(f"--load-threads {missing[0]} has no idle row to compare with: add it to --threads")
    # Each config's name, checked by the program before the first row runs
    # (a bad one stopped the table when its turn came, maybe an hour in).
    for cfg in cfgs:
        try:
            r = subprocess.run([args.ganforge, "--train", cfg, "--setup", "--device", "cpu"], capture_output=True,
                               text=True, timeout=120)
        except OSError as e:
            p.error(f"--ganforge {args.ganforge}: {e.strerror}")
        except subprocess.TimeoutExpired:
            p.error(f"--cfgs {cfg}: {args.ganforge} --train {cfg} --setup did not answer in 120 s")
        if r.returncode != 0:
            p.error(f"--cfgs {cfg}: {(r.stderr.strip().splitlines() or ['bench_networks failed'])[-1]}")
    pydeps.require("cpu_vs_pytorch_table", "torch")
    if not os.path.exists(SIDE_BY_SIDE):
        sys.exit(f"cpu_vs_pytorch_table: {SIDE_BY_SIDE} is missing (it comes with the parity work on main)")

    rows = []
    with tempfile.TemporaryDirectory(prefix="cpu_vs_pytorch.") as tmp:
        for cfg in cfgs:
            for t in args.threads:
                rows.append(dict(load=False, **side_by_side(args, cfg, t, tmp, "idle")))
        if not args.no_load:
            for cfg in cfgs:
                for t in args.load_threads:
                    with BusyLoop():
                        rows.append(dict(load=True, **side_by_side(args, cfg, t, tmp, "busy loop")))

    idle = {(r["cfg"], r["threads"]): r for r in rows if not r["load"]}
    print("\n| cfg | threads | competing load | PyTorch sec/kimg | ganforge sec/kimg | ganforge/PyTorch | target "
          "| PyTorch slowdown | ganforge slowdown |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ok = True
    for r in rows:
        med = r["median_sec_per_kimg"]
        ratio = r["ratio_ganforge_over_pytorch"]
        base = idle.get((r["cfg"], r["threads"]))
        if r["load"]:
            if base:
                st = med["pytorch"] / base["median_sec_per_kimg"]["pytorch"]
                sg = med["ganforge"] / base["median_sec_per_kimg"]["ganforge"]
                met = sg <= st
                slow = f"{st:.2f}x | {sg:.2f}x"
                goal = "slowdown <= PyTorch's: " + ("met" if met else "NOT met")
            else:  # refused up front
                slow, goal, met = "- | -", "(no idle row)", False
        else:
            met = ratio <= target(r["cfg"], r["threads"])
            slow = " | "
            goal = f"<= {target(r['cfg'], r['threads']):.1f}: " + ("met" if met else "NOT met")
        ok = ok and met
        print(f"| {r['cfg']} | {r['threads']} | {'busy loop' if r['load'] else 'none'} | {med['pytorch']:.2f} "
              f"| {med['ganforge']:.2f} | {ratio:.3f} | {goal} | {slow} |")
    if rows:
        m = rows[0]["machine"]
        print(f"\nmachine: {m.get('platform')}, {m.get('cpu_count')} CPUs; PyTorch {rows[0].get('torch_version')}")
    if args.json:
        bench_json.write_json(args.json, rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
