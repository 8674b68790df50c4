#!/usr/bin/env python3
"""Times the same StyleGAN2-ADA training minibatches in PyTorch and in ganforge,
interleaved in one run, and prints sec/kimg for both and their ratio.

PyTorch runs the project's reference step (tools/reference/stylegan2_training_reference.py
over the networks of tools/reference/stylegan2_reference.py, which tests/test_parity.cpp
and tests/test_step_parity.cpp hold equal to ganforge's): the four phases
(Gmain; Greg every G_reg_interval with path length; Dmain; Dreg every
D_reg_interval with R1), Adam with the lazy-regularization adjustment,
nan_to_num, the EMA, with torch's own random draws, in float32. ganforge runs
`bench_networks --train` (real trainer minibatches in a fresh process). Both
take the config as train_stylegan builds it for a dataset of the given shape
(ganforge reports its spec and network configs, and the PyTorch side builds
exactly those), the same batch and the same thread count, and time the same
schedule: --warmup minibatches, then --minibatches from batch_idx = warmup.

Rounds alternate which side goes first, so both see the same background load;
the medians over the rounds give the ratio (ganforge / PyTorch: below 1 means
ganforge is faster). On a shared machine absolute times mean little; the
ratio from one run is the figure to quote.

  python3 bench/torch_vs_ganforge.py --cfg small --device cpu --threads 2
  python3 bench/torch_vs_ganforge.py --cfg paper256 --device cuda --minibatches 16 --json out.json

--aug ada (p from 0, as train_stylegan starts it) or --aug fixed --p P adds
ADA's augmentation (--augpipe, default bgc) on both sides: the PyTorch side
runs tools/reference/augment_reference.py, which equals the official AugmentPipe.

Both sides run under the same libgomp spin policy, ganforge's: unless the
user set GOMP_SPINCOUNT or OMP_WAIT_POLICY, GOMP_SPINCOUNT=2000 is set before
torch is imported (libgomp reads it when loaded) and ganforge inherits it
(bench/openmp_spin.py); the first line says which.

--cfg tiny, small, auto, cifar: 32x32x1 (Fashion-MNIST as train_stylegan pads
it; cifar 32x32x3); paper256/512/1024, stylegan2: that resolution, RGB.
--res and --channels override.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
import bench_json  # noqa: E402  (standard library only)
import openmp_spin  # noqa: E402  (standard library only)
import pydeps  # noqa: E402  (standard library only: flags checked and needs said before PyTorch is imported)

SHAPES = {"tiny": (32, 1), "small": (32, 1), "auto": (32, 1), "cifar": (32, 3), "paper256": (256, 3),
          "paper512": (512, 3), "paper1024": (1024, 3), "stylegan2": (1024, 3)}


def ganforge_cmd(args, setup_only=False):
    cmd = [args.ganforge, "--train", args.cfg, "--res", str(args.res), "--channels", str(args.channels),
           "--device", args.device, "--minibatches", str(args.minibatches), "--warmup", str(args.warmup)]
    if args.batch:
        cmd += ["--batch", str(args.batch)]
    # bench_networks takes the pipe and p only where the augmentation reads them.
    cmd += ["--aug", args.aug] + (["--augpipe", args.augpipe] if args.aug != "noaug" else []) \
        + (["--p", repr(args.p)] if args.aug == "fixed" else [])
    if setup_only:
        cmd.append("--setup")
    return cmd


def run_ganforge(args, setup_only=False):
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    p = subprocess.run(ganforge_cmd(args, setup_only), env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"torch_vs_ganforge: {args.ganforge} failed ({p.returncode}): {p.stderr.strip()}")
    return json.loads(p.stdout.strip().splitlines()[-1])


class TorchSide:
    def __init__(self, args, setup):
        import torch
        import stylegan2_training_reference as tr

        self.torch, self.args = torch, args
        torch.set_num_threads(args.threads)
        torch.backends.cudnn.benchmark = True  # as the official training loop
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.manual_seed(0)
        self.device = torch.device(args.device)
        spec, G_kwargs, D_kwargs = setup["spec"], setup["G_kwargs"], setup["D_kwargs"]
        gen = torch.Generator().manual_seed(1)
        pixels = torch.randint(0, 256, [64, args.channels, args.res, args.res], generator=gen, dtype=torch.uint8)
        ds = tr.Dataset(pixels)
        self.step = tr.TrainingStep(spec, G_kwargs, D_kwargs, ds, dtype=torch.float32, device=self.device)
        self.Draws = tr.Draws
        for _ in range(args.warmup):
            self.step.step(tr.Draws())
        self.sync()

    def sync(self):
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def time(self):
        """sec/kimg over --minibatches from batch_idx = warmup, as ganforge's run."""
        self.step.batch_idx = self.args.warmup
        self.sync()
        t0 = time.perf_counter()
        for _ in range(self.args.minibatches):
            self.step.step(self.Draws())
        self.sync()
        sec = time.perf_counter() - t0
        return sec / (self.args.minibatches * self.step.spec["batch"]) * 1000


def main():
    p = pydeps.OneLineParser(description=__doc__.split("\n\n")[0],
                             formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--cfg", default="small", help="a train_stylegan --cfg (default small)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:K] (default cpu)")
    p.add_argument("--threads", type=pydeps.integer(1, 4096), default=os.cpu_count(),
                   help="torch.set_num_threads and OMP_NUM_THREADS for ganforge (default: every core)")
    p.add_argument("--minibatches", type=pydeps.integer(1, 100000), default=16,
                   help="timed minibatches per side per round (default 16)")
    p.add_argument("--warmup", type=pydeps.integer(0, 100000), default=2, help="untimed minibatches first (default 2)")
    p.add_argument("--rounds", type=pydeps.integer(1, 1000), default=3, help="interleaved rounds (default 3)")
    p.add_argument("--batch", type=pydeps.integer(0, 1 << 20), default=0,
                   help="override the config's batch (as train_stylegan --batch)")
    p.add_argument("--res", type=pydeps.integer(0, 1 << 16), default=0, help="image resolution (default: by --cfg)")
    p.add_argument("--channels", type=pydeps.integer(0, 4), default=0, help="image channels (default: by --cfg)")
    p.add_argument("--ganforge", default=os.path.join(ROOT, "build", "bin", "bench_networks"),
                   help="ganforge's bench_networks (default build/bin/bench_networks)")
    p.add_argument("--aug", default="noaug", choices=["noaug", "ada", "fixed"],
                   help="discriminator augmentation as train_stylegan's --aug (default noaug)")
    p.add_argument("--p", type=float, default=None, help="augmentation probability for --aug fixed (needed there)")
    p.add_argument("--augpipe", default="bgc", help="augmentation pipeline (default bgc)")
    p.add_argument("--json", default="", help="also write the results here")
    args = p.parse_args()
    if args.aug == "fixed" and args.p is None:
        p.error("--aug fixed needs --p")  # as train_stylegan and bench_networks
    if args.p is not None and args.aug != "fixed":
        p.error("--p is the probability of --aug fixed (ada starts from 0)")
    args.p = args.p or 0.0
    if not 0 <= args.p <= 1:
        p.error("--p must be in [0, 1]")
    bench_json.check_path(p, args.json)  # before an hour of benchmarks, not after
    res, channels = SHAPES.get(args.cfg, (32, 1))
    args.res, args.channels = args.res or res, args.channels or channels
    pydeps.require("torch_vs_ganforge", "torch")
    spin = openmp_spin.prefer_short_spin()  # before torch is imported (TorchSide) and ganforge is started
    if not os.access(args.ganforge, os.X_OK):
        sys.exit(f"torch_vs_ganforge: {args.ganforge} is not an executable (build ganforge first)")

    setup = run_ganforge(args, setup_only=True)
    spec = setup["spec"]
    print(f"cfg {args.cfg} at {args.res}x{args.res}x{args.channels}, aug {args.aug} (p {args.p}), batch {spec['batch']} "
          f"(passes of {spec['batch_gpu'] or spec['batch']}), {args.device}, {args.threads} threads, "
          f"{args.minibatches} minibatches per side per round after {args.warmup} warm-up; {spin}")
    torch_side = TorchSide(args, setup)
    times = {"pytorch": [], "ganforge": []}
    for r in range(args.rounds):
        order = ["pytorch", "ganforge"] if r % 2 == 0 else ["ganforge", "pytorch"]
        for side in order:
            t = torch_side.time() if side == "pytorch" else run_ganforge(args)["sec_per_kimg"]
            times[side].append(t)
        print(f"round {r}: PyTorch {times['pytorch'][-1]:8.2f} sec/kimg   ganforge {times['ganforge'][-1]:8.2f} sec/kimg")
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["ganforge"] / med["pytorch"]
    print(f"median: PyTorch {med['pytorch']:.2f} sec/kimg, ganforge {med['ganforge']:.2f} sec/kimg, "
          f"ratio ganforge/PyTorch {ratio:.3f}")
    if args.json:
        import torch
        out = dict(cfg=args.cfg, res=args.res, channels=args.channels, device=args.device, threads=args.threads,
                   batch=spec["batch"], batch_gpu=spec["batch_gpu"], aug=args.aug, p=args.p, augpipe=args.augpipe,
                   minibatches=args.minibatches, gomp_spincount=os.environ.get("GOMP_SPINCOUNT", ""),
                   warmup=args.warmup, rounds=args.rounds, sec_per_kimg=times, median_sec_per_kimg=med,
                   ratio_ganforge_over_pytorch=ratio)
        bench_json.write_results(args.json, out, torch, args.device)


if __name__ == "__main__":
    main()
