#!/usr/bin/env python3
"""Times StyleGAN2-ADA's augmentation in PyTorch and in ganforge, interleaved
in one run, and prints both and their ratio (ganforge / PyTorch: below 1
means ganforge is faster).

ganforge runs `bench_augment --json --device DEV --record-draws TMP` in a
fresh process each round; PyTorch times the same rows at the shapes and
thetas that run reports, with the same thread count:
  - the op: F.affine_grid + F.grid_sample (bilinear, zeros,
    align_corners=False) against affine_grid_sample, and grid_sample's input
    gradient (aten::grid_sampler_2d_backward with the grid saved, as autograd
    and the official grid_sample_gradfix call it) against
    affine_grid_sample_adjoint;
  - the whole pipe 'bgc' at p = 0 and p = 1, forward and forward + backward
    (the gradient with respect to the images), as tools/reference/augment_reference.py's
    AugmentPipeRef (equal to the official AugmentPipe) replaying exactly the
    draws ganforge's timed calls make, so both sides pad and resample alike.
    For timing, its resampling uses torch's own grid_sample autograd: the
    same first-order work as the official grid_sample_gradfix (the
    reference's double-differentiable wrapper runs an extra forward in its
    backward).

Each round goes through four groups of rows (small ops, small pipe,
paper256 ops, paper256 pipe: `bench_augment --cfg --part`), both sides back
to back per group, so both see nearly the same background load; which side
goes first alternates (in round 0 ganforge, which reports the shapes). The
medians over the rounds give the ratio. On a shared machine absolute times mean little; the ratio
from one run is the figure to quote.

Both sides run under the same libgomp spin policy, ganforge's: unless the
user set GOMP_SPINCOUNT or OMP_WAIT_POLICY, GOMP_SPINCOUNT=2000 is set before
torch is imported (libgomp reads it when loaded) and ganforge inherits it
(bench/openmp_spin.py); the first line says which.

  OMP_NUM_THREADS=2 /usr/bin/python3 bench/torch_augment.py --threads 2 --quick
  /usr/bin/python3 bench/torch_augment.py --device cuda --json out.json
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
import bench_json  # noqa: E402  (standard library only)
import openmp_spin  # noqa: E402  (standard library only)
import pydeps  # noqa: E402  (standard library only: flags checked and needs said before PyTorch is imported)


GROUPS = [(cfg, part) for cfg in ("small", "paper256") for part in ("op", "pipe")]


def run_ganforge(args, draws_dir, cfg, part):
    cmd = [args.ganforge, "--json", "--device", args.device.split(":")[0], "--record-draws", draws_dir,
           "--cfg", cfg, "--part", part]
    if args.quick:
        cmd.append("--quick")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"torch_augment: {args.ganforge} failed ({p.returncode}): {p.stderr.strip()}")
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def key(row):
    if row["kind"] == "op":
        return ("op", row["cfg"], row["case"], row["op"])
    if row["kind"] == "pipe":
        return ("pipe", row["cfg"], row["p"], row["pass"])
    return (row["kind"],)


class TorchSide:
    def __init__(self, args, rows, draws_dir):
        import torch
        import torch.nn.functional as F
        import augment_reference as ar
        from golden_io import read_safetensors

        self.torch, self.F, self.args = torch, F, args
        torch.set_num_threads(args.threads)
        self.device = torch.device(args.device)
        self.reps = (1, 3, 1) if args.quick else (1, 5, 1)
        if self.device.type == "cuda":
            self.reps = (2, 5, 5) if args.quick else (3, 7, 20)

        def plain(x, theta, out_h, out_w):  # torch's own autograd: the official gradfix's first-order work
            grid = F.affine_grid(theta, [x.shape[0], x.shape[1], out_h, out_w], align_corners=False)
            return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        ar.affine_grid_sample = plain
        self.ar = ar
        gen = torch.Generator().manual_seed(0)
        self.ops, self.pipes = [], []
        seen_pipe = set()
        for r in rows:
            if r["kind"] == "op" and r["op"] == "affine_grid_sample":  # one setup per case; its adjoint row follows
                n, c, i, o = r["n"], r["c"], r["in"], r["out"]
                x = torch.randn([n, c, i, i], generator=gen).to(self.device)
                g = torch.randn([n, c, o, o], generator=gen).to(self.device)
                theta = torch.tensor(r["theta"], dtype=torch.float32).reshape(1, 2, 3).repeat(n, 1, 1).to(self.device)
                self.ops.append((r, x, g, theta))
            elif r["kind"] == "pipe" and (r["cfg"], r["p"]) not in seen_pipe:
                seen_pipe.add((r["cfg"], r["p"]))
                d = os.path.join(draws_dir, f"{r['cfg']}_p{r['p']}")
                sets = []
                for k in range(r["sets"]):
                    t, _ = read_safetensors(os.path.join(d, f"draws-mb{k:06d}.bin"))
                    sets.append({name[len(f"mb{k}/"):]: v for name, v in t.items()})
                images = torch.randn([r["n"], r["c"], r["res"], r["res"]], generator=gen).to(self.device)
                dy = torch.randn(images.shape, generator=gen).to(self.device)
                self.pipes.append((r, sets, images, dy))

    def sync(self):
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def per_call(self, fns):
        """Median seconds per call of each fn, samples taken round-robin (as bench_common.h)."""
        warmup, samples, calls = self.reps
        for fn in fns:
            for _ in range(warmup):
                fn()
        self.sync()
        t = [[] for _ in fns]
        for _ in range(samples):
            for i, fn in enumerate(fns):
                t0 = time.perf_counter()
                for _ in range(calls):
                    fn()
                self.sync()
                t[i].append((time.perf_counter() - t0) / calls)
        return [statistics.median(v) for v in t]

    def time(self):
        """{key: seconds or ms, as ganforge's rows give them}."""
        torch, F = self.torch, self.F
        out = {}
        for r, x, g, theta in self.ops:
            n, c, o = r["n"], r["c"], r["out"]
            grid = F.affine_grid(theta, [n, c, o, o], align_corners=False)

            def fwd():
                with torch.no_grad():
                    gr = F.affine_grid(theta, [n, c, o, o], align_corners=False)
                    F.grid_sample(x, gr, mode="bilinear", padding_mode="zeros", align_corners=False)

            def adj():
                torch.ops.aten.grid_sampler_2d_backward(g, x, grid, 0, 0, False, [True, False])
            tf, ta = self.per_call([fwd, adj])
            out[("op", r["cfg"], r["case"], "affine_grid_sample")] = tf * 1e6
            out[("op", r["cfg"], r["case"], "affine_grid_sample_adjoint")] = ta * 1e6
        by_cfg = {}
        for entry in self.pipes:
            by_cfg.setdefault(entry[0]["cfg"], []).append(entry)
        for cfg, entries in by_cfg.items():
            fns, keys = [], []
            for backward in (False, True):
                for r, sets, images, dy in entries:
                    pipe = self.ar.AugmentPipeRef(p=float(r["p"]), **self.ar.spec_kwargs("bgc"))

                    def run(pipe=pipe, sets=sets, images=images, dy=dy, backward=backward):
                        for s in sets:
                            def draw(name, shape, kind, s=s):
                                return s[name]
                            if backward:
                                x = images.detach().requires_grad_()
                                torch.autograd.grad(pipe.forward(x, draw), x, dy)
                            else:
                                with torch.no_grad():
                                    pipe.forward(images, draw)
                    fns.append(run)
                    keys.append(("pipe", cfg, r["p"], "fwd+bwd" if backward else "fwd", len(sets)))
            for k, t in zip(keys, self.per_call(fns)):
                out[k[:4]] = t / k[4] * 1e3
        return out


def main():
    p = pydeps.OneLineParser(description=__doc__.split("\n\n")[0],
                             formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--threads", type=pydeps.integer(1, 4096), default=os.cpu_count(),
                   help="torch.set_num_threads and OMP_NUM_THREADS for ganforge (default: every core)")
    p.add_argument("--rounds", type=pydeps.integer(1, 1000), default=3, help="interleaved rounds (default 3)")
    p.add_argument("--quick", action="store_true", help="bench_augment --quick, and as few samples here")
    p.add_argument("--ganforge", default=os.path.join(ROOT, "build", "bin", "bench_augment"),
                   help="ganforge's bench_augment (default build/bin/bench_augment)")
    p.add_argument("--json", default="", help="also write the results here")
    args = p.parse_args()
    if args.device not in ("cpu", "cuda") and not args.device.startswith("cuda:"):
        p.error(f"--device expects cpu or cuda[:K], got '{args.device}'")
    if args.device.startswith("cuda:") and args.device != "cuda:0":
        p.error("bench_augment times cuda:0 only: give --device cuda")
    bench_json.check_path(p, args.json)  # before the benchmarks, not after
    pydeps.require("torch_augment", "torch", "numpy")
    if not os.access(args.ganforge, os.X_OK):
        sys.exit(f"torch_augment: {args.ganforge} is not an executable (build ganforge first)")

    spin = openmp_spin.prefer_short_spin()  # before torch is imported and ganforge is started
    import torch
    print(f"PyTorch {torch.__version__} vs ganforge, {args.device}, {args.threads} threads, {args.rounds} rounds"
          f"{' (quick)' if args.quick else ''}, {spin}; ratio = ganforge / PyTorch (below 1: ganforge faster)",
          flush=True)
    times = {"pytorch": {}, "ganforge": {}}
    info = {}
    with tempfile.TemporaryDirectory(prefix="torch_augment_") as draws_dir:
        torch_sides = {}  # per group, set up from ganforge's first rows of it
        for r in range(args.rounds):
            for gi, (cfg, part) in enumerate(GROUPS):
                order = ["ganforge", "pytorch"] if r == 0 or (r + gi) % 2 == 0 else ["pytorch", "ganforge"]
                for side in order:
                    if side == "ganforge":
                        rows = run_ganforge(args, draws_dir, cfg, part)
                        for row in rows:
                            if row["kind"] in ("op", "pipe"):
                                info[key(row)] = row
                                times["ganforge"].setdefault(key(row), []).append(
                                    row["us"] if row["kind"] == "op" else row["ms"])
                            elif row["kind"] == "copy":
                                times["ganforge"].setdefault(key(row), []).append(row["gbs"])
                        if (cfg, part) not in torch_sides:
                            torch_sides[(cfg, part)] = TorchSide(args, rows, draws_dir)
                    else:
                        for k, t in torch_sides[(cfg, part)].time().items():
                            times["pytorch"].setdefault(k, []).append(t)
            print(f"round {r} done", flush=True)

    med = {side: {k: statistics.median(v) for k, v in d.items()} for side, d in times.items()}
    print(f"ganforge copy bandwidth {med['ganforge'][('copy',)]:.1f} GB/s (median over its runs)")
    copy = med["ganforge"][("copy",)]
    print("op (us per call; ganforge's GB/s: read input + write output, and its % of the copy bandwidth)")
    print(f"  {'cfg':<8} {'case':<18} {'op':<27} {'in->out':>10} {'ganforge':>11} {'PyTorch':>11} {'ratio':>6} {'GB/s':>6}"
          f" {'%copy':>6}")
    results = []
    for k, row in info.items():
        if k[0] != "op":
            continue
        g, t = med["ganforge"][k], med["pytorch"][k]
        gbs = 4.0 * row["n"] * row["c"] * (row["in"] ** 2 + row["out"] ** 2) / (g * 1e-6) / 1e9
        print(f"  {row['cfg']:<8} {row['case']:<18} {row['op']:<27} {row['in']:>5}->{row['out']:<4} "
              f"{g:11.1f} {t:11.1f} {g / t:6.2f} {gbs:6.2f} {100 * gbs / copy:6.1f}")
        results.append(dict(row, us=g, us_pytorch=t, ratio=g / t, rounds_us=times["ganforge"][k],
                            rounds_us_pytorch=times["pytorch"][k]))
    print("AugmentPipe 'bgc' (ms per batch, mean over the draw sets; PyTorch: AugmentPipeRef on the same draws)")
    print(f"  {'cfg':<8} {'images':<16} {'p':>2} {'pass':<8} {'ganforge':>10} {'PyTorch':>10} {'ratio':>6} "
          f"{'gf ms/img':>10}")
    for k, row in info.items():
        if k[0] != "pipe":
            continue
        g, t = med["ganforge"][k], med["pytorch"].get(k)
        shape = f"{row['n']}x{row['c']}x{row['res']}^2"
        theirs = f"{t:10.2f} {g / t:6.2f}" if t else f"{'n/a':>10} {'':>6}"
        print(f"  {row['cfg']:<8} {shape:<16} {row['p']:>2} {row['pass']:<8} {g:10.2f} {theirs} {g / row['n']:10.3f}")
        results.append(dict(row, ms=g, ms_pytorch=t, ratio=g / t if t else None, rounds_ms=times["ganforge"][k],
                            rounds_ms_pytorch=times["pytorch"].get(k)))
    if args.json:
        out = dict(device=args.device, threads=args.threads, rounds=args.rounds, quick=args.quick,
                   gomp_spincount=os.environ.get("GOMP_SPINCOUNT", ""),
                   copy_gbs=med["ganforge"][("copy",)], rows=results)
        bench_json.write_results(args.json, out, torch, args.device)


if __name__ == "__main__":
    main()
