#!/usr/bin/env python3
"""Writes synthetic StyleGAN (v1) network pickles in the official layout,
without TensorFlow, for tests: the tuple (G, D, Gs) of
dnnlib.tflib.network.Network objects as the official misc.save_pkl writes them
(pickle protocol 4), each pickled through its __getstate__: {"version": 3,
"name", "static_kwargs", "components", "build_module_src", "build_func_name",
"variables": [(TF variable name, float32 array), ...]}; G and Gs (G_style)
hold "lod" and "dlatent_avg" and the components "mapping" (G_mapping) and
"synthesis" (G_synthesis) with their own variables.

Variables follow tools/stylegan_reference.py's g_variables/d_variables (the
official names and TF layouts, flattened by component there and split back
here). build_module_src is a stand-in (the official source is not reproduced):
a line that would stop the process if a reader ever executed it.

  make_stylegan_pickle.py OUT.pkl [--resolution 32] [--num-channels 3] [--label-size 0] [--fmap-base 64]
      [--fmap-max 16] [--latent-size 16] [--mapping-layers 2] [--seed 0]
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
import pydeps  # noqa: E402
pydeps.require("make_stylegan_pickle", "numpy", "torch")  # torch: through stylegan_reference

import numpy as np  # noqa: E402

import golden_io  # noqa: E402
import tf_network_stub  # noqa: E402  (standard library only)

import stylegan_reference as ref  # noqa: E402

EXECUTION_TRAP = "raise SystemExit('build_module_src was executed')\n"
MODULE = "dnnlib.tflib.network"


def random_variables(shapes, rng, use_wscale=True, mapping_lrmul=1.0):
    """mapping_lrmul: the mapping's weights and biases are drawn 1 / lrmul
    larger, as the official init (std 1 / lrmul, bias times lrmul at run time):
    drawn at the other layers' scale, a mapping with lrmul 0.01 gives nearly
    one w for every z, and tests through it check little."""
    out = collections.OrderedDict()
    for name, shape in shapes.items():
        if name.endswith("lod"):
            a = np.zeros(shape)
        elif name.endswith("/bias") or name == "dlatent_avg" or name.endswith("Noise/weight"):
            a = rng.standard_normal(shape) * 0.3
        elif name.endswith("/weight") and not use_wscale:
            a = rng.standard_normal(shape) / np.sqrt(np.prod(shape[:-1]))
        else:
            a = rng.standard_normal(shape)
        if name.startswith("G_mapping/Dense"):
            a = a / mapping_lrmul
        out[name] = np.asarray(a, dtype=np.float32)
    return out


def state(name, func, static_kwargs, variables, components=None, version=3):
    """version 3: NVlabs/stylegan's dnnlib.tflib; 4: NVlabs/stylegan2's (the same fields)."""
    return {"version": version, "name": name, "static_kwargs": dict(static_kwargs), "components": components or {},
            "build_module_src": EXECUTION_TRAP, "build_func_name": func, "variables": list(variables.items())}


def g_state(name, static_kwargs, flat):
    """A G_style state from flattened variables ("G_mapping/...", "G_synthesis/...", "lod", "dlatent_avg")."""
    parts = {"G_mapping": collections.OrderedDict(), "G_synthesis": collections.OrderedDict(),
             "": collections.OrderedDict()}
    for n, a in flat.items():
        head, _, rest = n.partition("/")
        parts[head if head in parts and rest else ""][rest if head in parts and rest else n] = a
    comps = {"synthesis": state("G_synthesis", "G_synthesis", static_kwargs, parts["G_synthesis"]),
             "mapping": state("G_mapping", "G_mapping", static_kwargs, parts["G_mapping"])}
    return state(name, "G_style", static_kwargs, parts[""], comps)


def dumps(states, protocol=4):
    with tf_network_stub.installed(MODULE) as mod:  # pickle imports the parents of a dotted module

        def wrap(st):
            st = dict(st, components={k: wrap(c) for k, c in st["components"].items()})
            return mod.Network(st)

        return pickle.dumps(tuple(wrap(s) for s in states), protocol=protocol)


def make_networks(g_static, d_static, seed=0):
    """(G, D, Gs) states and their flattened variables."""
    rng = np.random.default_rng(seed)
    g_kw, d_kw = ref._kwargs(ref.G_DEFAULTS, g_static), ref._kwargs(ref.D_DEFAULTS, d_static)
    gv = random_variables(ref.g_variables(**g_kw), rng, g_kw["use_wscale"], g_kw["mapping_lrmul"])
    gsv = random_variables(ref.g_variables(**g_kw), rng, g_kw["use_wscale"], g_kw["mapping_lrmul"])
    dv = random_variables(ref.d_variables(**d_kw), rng, d_kw["use_wscale"])
    states = (g_state("G", g_static, gv), state("D", "D_basic", d_static, dv), g_state("Gs", g_static, gsv))
    return states, (gv, dv, gsv)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--num-channels", type=int, default=3)
    p.add_argument("--label-size", type=int, default=0)
    p.add_argument("--fmap-base", type=int, default=64)
    p.add_argument("--fmap-max", type=int, default=16)
    p.add_argument("--latent-size", type=int, default=16)
    p.add_argument("--mapping-layers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    base = dict(num_channels=a.num_channels, resolution=a.resolution, label_size=a.label_size,
                fmap_base=a.fmap_base, fmap_max=a.fmap_max)
    g = dict(base, latent_size=a.latent_size, dlatent_size=a.latent_size, mapping_layers=a.mapping_layers,
             mapping_fmaps=a.latent_size)
    states, _ = make_networks(g, base, a.seed)
    data = dumps(states)
    golden_io.write_atomically(a.out, [data])
    print(f"wrote (G, D, Gs) to {a.out} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
