#!/usr/bin/env python3
"""Writes synthetic PGGAN network pickles in the official layout, without
TensorFlow, for tests: the tuple (G, D, Gs) of tfutil.Network objects as
misc.save_pkl writes them (pickle protocol 4), each pickled through its
__getstate__: {"version": 2, "name", "static_kwargs", "build_module_src",
"build_func_name", "variables": [(TF variable name, float32 array), ...]}.

Variables follow tools/pggan_reference.py's g_variables/d_variables (the
official names and TF layouts) with random values; Gs is G plus a small
difference, as an exponential average would be. build_module_src is a
stand-in (the official source is not reproduced); by default it is a line
that would stop the process if a reader ever executed it.

  make_pggan_pickle.py OUT.pkl [--resolution 32] [--num-channels 1] [--label-size 0]
      [--fmap-base 64] [--fmap-max 16] [--latent-size 16] [--no-fused] [--mbstd-group-size 4]
      [--lod 0] [--seed 0]
"""
import argparse
import collections
import os
import pickle
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without NumPy/PyTorch)
pydeps.require("make_pggan_pickle", "numpy", "torch")  # torch: through pggan_reference

import numpy as np

import golden_io  # noqa: E402
import tf_network_stub  # noqa: E402  (standard library only)

import pggan_reference as ref  # noqa: E402

EXECUTION_TRAP = "raise SystemExit('build_module_src was executed')\n"


def random_variables(shapes, seed, lod=0.0):
    """N(0, 1) weights (equalized lr stores them so), biases around 0.3 N(0, 1)."""
    rng = np.random.RandomState(seed)
    out = collections.OrderedDict()
    for name, shape in shapes.items():
        if name == "lod":
            out[name] = np.float32(lod) * np.ones([], np.float32)
        elif name.endswith("/bias"):
            out[name] = (0.3 * rng.standard_normal(shape)).astype(np.float32)
        else:
            out[name] = rng.standard_normal(shape).astype(np.float32)
    return out


def network_state(name, func, static_kwargs, variables, source=EXECUTION_TRAP):
    return {"version": 2, "name": name, "static_kwargs": dict(static_kwargs), "build_module_src": source,
            "build_func_name": func, "variables": list(variables.items())}


def dumps(states, protocol=4):
    """The pickle bytes of a tuple of networks with the given states."""
    with tf_network_stub.installed("tfutil") as mod:
        return pickle.dumps(tuple(mod.Network(s) for s in states), protocol=protocol)


def make_networks(static, seed=0, lod=0.0, mbstd_group_size=4):
    """(G, D, Gs) states for one configuration; static holds the kwargs
    train.py passes (num_channels, resolution, label_size) plus any overrides."""
    g_vars = random_variables(ref.g_variables(**static), seed, lod)
    d_static = dict(static, mbstd_group_size=mbstd_group_size)
    d_vars = random_variables(ref.d_variables(**d_static), seed + 1, lod)
    rng = np.random.RandomState(seed + 2)
    gs_vars = collections.OrderedDict(
        (k, v if k == "lod" else (v + 0.05 * rng.standard_normal(v.shape)).astype(np.float32))
        for k, v in g_vars.items())
    return (network_state("G", "G_paper", static, g_vars), network_state("D", "D_paper", d_static, d_vars),
            network_state("Gs", "G_paper", static, gs_vars))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--num-channels", type=int, default=1)
    p.add_argument("--label-size", type=int, default=0)
    p.add_argument("--fmap-base", type=int, default=64)
    p.add_argument("--fmap-max", type=int, default=16)
    p.add_argument("--latent-size", type=int, default=16)
    p.add_argument("--no-fused", action="store_true")
    p.add_argument("--mbstd-group-size", type=int, default=4)
    p.add_argument("--lod", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    static = dict(num_channels=a.num_channels, resolution=a.resolution, label_size=a.label_size,
                  fmap_base=a.fmap_base, fmap_max=a.fmap_max, latent_size=a.latent_size, fused_scale=not a.no_fused)
    data = dumps(make_networks(static, a.seed, a.lod, a.mbstd_group_size))
    golden_io.write_atomically(a.out, [data])
    print(f"wrote (G, D, Gs) to {a.out} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
