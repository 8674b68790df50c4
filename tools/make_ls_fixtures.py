#!/usr/bin/python3
"""Writes tests/data/ls_classifiers.bin and tests/data/ls_golden.bin: the
fixtures of StyleGAN (v1)'s Linear Separability metric (NVlabs/stylegan,
metrics/linear_separability.py) computed by tools/linear_separability_reference.py.

ls_classifiers.bin: 40 tiny random CelebA-HQ attribute classifiers (PGGAN's
D_paper at 8x8, 3 channels, fmap_base 32, fmap_max 8, no labels, no
minibatch-stddev map; N(0, 1) weights and 0.3 N(0, 1) biases as
tools/make_pggan_pickle.py draws them, seed 5000 + NN), written as pickles
celebahq-classifier-NN-<official name>.pkl into a temporary folder (even NN:
PGGAN's tfutil.Network, state version 2; odd NN: NVlabs/stylegan's
dnnlib.tflib.network.Network, version 3; fused resampling convs for NN % 4 <
2; mbstd_group_size 0 in static_kwargs for NN % 3 == 0, absent otherwise)
and imported by `tools/convert_weights.py import FOLDER OUT
--format celebahq-classifiers`.

ls_golden.bin (float32 and float64; integers as float64; scalars of shape []):
  images [6, 3, 16, 16] f32      uniform in [-1, 1]
  images_down [6, 3, 8, 8] f32   their 2x2 block means (the official reduce to the classifiers' side)
  logits [6, 40] f32             classifier NN's logit on images (downsampled), run in float32
  logits_f64 [6, 40] f64         the same run in float64 from the float32 weights
  z [400, 8] f32, w [400, 12] f32  latents and leaky_relu(z A + b): two spaces
  svm_logits [400, 5] f32        attribute 0 linear in z plus noise; 1 linear in w; 2 noise; 3 all
                                 positive (one class: LinearSVC fails, the targets are the predictions);
                                 4 many equal |logit| and 240 exact zeros (ties in the pruning order,
                                 argmax of [0.5, 0.5] is 0); on a 1/256 grid within [-4, 4], so that
                                 unequal |logits| have clearly unequal float32 confidences
  num_keep [] f64                200
  kept_<k> [200]                 the pruned rows of attribute k, most confident first (stable)
  targets_<k> [200]              their classes
  pred_<s>_<k> [200]             LinearSVC()'s predictions in space s (z or w) on the kept rows
  decision_<s>_<k> [200] f64     its decision_function (zeros where the fit failed)
  coef_<s>_<k> [8 or 12], intercept_<s>_<k> [1] f64   its coef_ and intercept_ (zeros where it failed)
  svm_failed_<s> [5]             1 where the fit raised (attribute 3)
  entropy_<s> [5] f64            the conditional entropies
  ls_z [], ls_w [] f64           2 ** their sums
  p_cases [M, 2, 2] f64, p_entropy [M] f64   count matrices and the official conditional_entropy of each
Every fit converges (a ConvergenceWarning fails the script); liblinear's
coordinate order comes from NumPy's global generator, seeded before each fit,
and three other orders must give the same predictions (their decision values
differ by up to ~1e-3: liblinear stops at tol 1e-4).

Run from the repository root: /usr/bin/python3 tools/make_ls_fixtures.py [--outdir tests/data]
"""
import json
import os
import pickle
import sys
import tempfile

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402
if __name__ == "__main__":  # the command line first: --help and a bad flag need no NumPy or PyTorch
    _p = pydeps.OneLineParser(description=__doc__.split("\n\n")[0])
    _p.add_argument("--outdir", type=pydeps.text("a folder"), default=os.path.join(TOOLS, "..", "tests", "data"),
                    help="where ls_classifiers.bin and ls_golden.bin go (default tests/data)")
    OUTDIR = _p.parse_args().outdir
pydeps.require("make_ls_fixtures", "numpy", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import linear_separability_reference as lsref  # noqa: E402
import tf_network_stub  # noqa: E402  (standard library only)
import make_pggan_pickle as mkp  # noqa: E402
import pggan_reference as pgref  # noqa: E402

CLASSIFIER = dict(num_channels=3, resolution=8, label_size=0, fmap_base=32, fmap_max=8)
EXECUTION_TRAP = "raise SystemExit('build_module_src was executed')\n"
# The classes pickle records for each state version: PGGAN's and NVlabs/stylegan's.
NETWORK_MODULES = {2: "tfutil", 3: "dnnlib.tflib.network"}
N_IMAGES, N_ROWS, NUM_KEEP = 6, 400, 200


# ---------------------------------------------------------------- classifier pickles

def classifier_state(index, static=None, version=None, seed=None, mbstd_in_kwargs=None, func="D_paper"):
    """A classifier's network state: D_paper's variables (no minibatch-stddev
    map) with random values. Defaults vary with the index (see the docstring)."""
    static = dict(CLASSIFIER, fused_scale=index % 4 < 2) if static is None else dict(static)
    version = (2 if index % 2 == 0 else 3) if version is None else version
    mbstd_in_kwargs = index % 3 == 0 if mbstd_in_kwargs is None else mbstd_in_kwargs
    shapes = pgref.d_variables(**dict(static, mbstd_group_size=static.get("mbstd_group_size", 0)))
    variables = mkp.random_variables(shapes, 5000 + index if seed is None else seed)
    kwargs = dict(static)
    if mbstd_in_kwargs:
        kwargs.setdefault("mbstd_group_size", 0)
    state = {"version": version, "name": "D", "static_kwargs": kwargs, "build_module_src": EXECUTION_TRAP,
             "build_func_name": func, "variables": list(variables.items())}
    if version == 3:
        state["components"] = {}
    return state


def dumps_network(obj, version):
    """Pickle bytes of obj, where each dict with a "variables" key is pickled
    as a Network object of the version's module (through its __getstate__)."""
    with tf_network_stub.installed(NETWORK_MODULES[version]) as mod:

        def wrap(x):
            if isinstance(x, dict) and "variables" in x:
                return mod.Network(x)
            if isinstance(x, tuple):
                return tuple(wrap(y) for y in x)
            return x

        return pickle.dumps(wrap(obj), protocol=4)


def write_classifier_folder(folder, states=None):
    """celebahq-classifier-NN-<name>.pkl for NN in 00..39 -> their states."""
    states = [classifier_state(i) for i in range(len(lsref.CLASSIFIER_NAMES))] if states is None else states
    os.makedirs(folder, exist_ok=True)
    for name, st in zip(lsref.CLASSIFIER_NAMES, states):
        with open(os.path.join(folder, f"celebahq-classifier-{name}.pkl"), "wb") as f:
            f.write(dumps_network(st, st["version"]))
    return states


# ---------------------------------------------------------------- the SVM part

def on_grid(x):
    """float32 values on the 1/256 grid within [-4, 4]."""
    return (np.round(np.clip(x, -4.0, 4.0) * 256.0) / 256.0).astype(np.float32)


def svm_data():
    rng = np.random.RandomState(7)
    z = rng.standard_normal((N_ROWS, 8)).astype(np.float32)
    a = rng.standard_normal((8, 12)) / np.sqrt(8.0)
    b = 0.3 * rng.standard_normal(12)
    h = z.astype(np.float64) @ a + b
    w = np.where(h > 0, h, 0.2 * h).astype(np.float32)
    u, v = rng.standard_normal(8), rng.standard_normal(12)
    logits = np.zeros((N_ROWS, 5), np.float32)
    logits[:, 0] = on_grid(z @ u / np.linalg.norm(u) * 1.5 + 0.3 * rng.standard_normal(N_ROWS))
    wc = w - w.mean(axis=0)
    logits[:, 1] = on_grid(wc @ v / np.std(wc @ v) * 1.5 + 0.3 * rng.standard_normal(N_ROWS))
    logits[:, 2] = on_grid(1.5 * rng.standard_normal(N_ROWS))
    logits[:, 3] = on_grid(np.abs(1.5 * rng.standard_normal(N_ROWS)) + 0.25)
    # Attribute 4: +-0.5, +-1, +-1.5 by the sign and size of a direction in z, 240 zeros at random rows.
    s = z @ rng.standard_normal(8)
    mags = 0.5 * np.minimum(np.ceil(np.abs(s) / np.std(s) * 1.5), 3.0)
    col = np.where(s >= 0, mags, -mags)
    col[rng.permutation(N_ROWS)[:240]] = 0.0
    logits[:, 4] = col.astype(np.float32)
    assert (logits[:, 3] > 0).all() and (logits[:, 4] == 0).sum() == 240
    return z, w, logits


P_CASES = [
    [[100, 0], [0, 100]],    # perfect prediction
    [[50, 50], [50, 50]],    # independent
    [[200, 0], [0, 0]],      # one class, one prediction
    [[0, 0], [120, 80]],     # one prediction
    [[120, 30], [10, 40]],   # uneven
    [[3, 0], [1, 196]],      # nearly perfect, rare class
    [[0, 7], [193, 0]],      # perfectly wrong
    [[1, 2], [3, 194]],
]


def p_cases():
    cases = [np.array(c, np.float64) / 200 for c in P_CASES]
    cases.append(np.array([[2, 1], [1, 3]], np.float64) / 7)          # fractions float32 cannot hold
    cases.append(np.array([[0.3, 0.1], [0.2, 0.1]], np.float64))      # not normalized (sum 0.7)
    return np.stack(cases), np.array([lsref.conditional_entropy(c) for c in cases], np.float64)


def svm_golden():
    z, w, logits = svm_data()
    out = {"z": z, "w": w, "svm_logits": logits, "num_keep": np.array(NUM_KEEP, np.float64)}
    entropies = {"z": [], "w": []}
    failed = {"z": [], "w": []}
    for k in range(logits.shape[1]):
        kept = lsref.prune(logits[:, k], NUM_KEEP)
        t = lsref.targets(logits[:, k], kept)
        out[f"kept_{k}"], out[f"targets_{k}"] = kept, t
        for j, (space, x) in enumerate((("z", z), ("w", w))):
            np.random.seed(100 + 2 * k + j)  # liblinear's coordinate order
            fit = lsref.fit_predict(x[kept], t)
            if fit["warnings"]:
                raise SystemExit(f"make_ls_fixtures: error: attribute {k}, {space}: LinearSVC warned: "
                                 f"{fit['warnings'][0]}")
            for seed in (1, 2, 3):  # predictions that another coordinate order keeps (a C++ solver draws its own)
                np.random.seed(seed)
                if not np.array_equal(lsref.fit_predict(x[kept], t)["pred"], fit["pred"]):
                    raise SystemExit(f"make_ls_fixtures: error: attribute {k}, {space}: predictions depend on "
                                     "liblinear's coordinate order")
            if fit["failed"] != (k == 3):
                raise SystemExit(f"make_ls_fixtures: error: attribute {k}, {space}: the fit "
                                 f"{'failed' if fit['failed'] else 'succeeded'}, unlike the design")
            out[f"pred_{space}_{k}"], out[f"decision_{space}_{k}"] = fit["pred"], fit["decision"]
            out[f"coef_{space}_{k}"], out[f"intercept_{space}_{k}"] = fit["coef"], fit["intercept"]
            entropies[space].append(lsref.conditional_entropy(lsref.count_matrix(fit["pred"], t)))
            failed[space].append(float(fit["failed"]))
    for space in ("z", "w"):
        out[f"entropy_{space}"] = np.array(entropies[space], np.float64)
        out[f"ls_{space}"] = np.array(2.0 ** np.sum(out[f"entropy_{space}"]), np.float64)
        out[f"svm_failed_{space}"] = np.array(failed[space], np.float64)
    scores = lsref.ls_scores(z, w, logits, NUM_KEEP)  # the whole pipeline again: the same numbers
    for space in ("z", "w"):
        assert abs(scores[f"ls_{space}"] - float(out[f"ls_{space}"])) <= 1e-9 * float(out[f"ls_{space}"]), scores
    out["p_cases"], out["p_entropy"] = p_cases()
    return out


# ---------------------------------------------------------------- main

def as_tensor(a):
    a = np.asarray(a)
    return torch.from_numpy(np.array(a, dtype=np.float32 if a.dtype == np.float32 else np.float64, order="C"))


def main(outdir):
    lsref.require_sklearn("make_ls_fixtures")
    import convert_weights as cw  # noqa: E402
    from golden_io import write_safetensors  # noqa: E402

    classifiers = os.path.join(outdir, "ls_classifiers.bin")
    with tempfile.TemporaryDirectory() as folder:
        states = write_classifier_folder(folder)
        code = cw.main(["import", folder, classifiers, "--format", "celebahq-classifiers"])
        if code != 0:
            raise SystemExit(f"make_ls_fixtures: error: the import of the classifiers exited {code}")
    tensors, meta = cw.read_bin(classifiers)
    assert json.loads(meta["classifiers"]) == lsref.CLASSIFIER_NAMES

    gen = torch.Generator().manual_seed(11)
    images = torch.rand([N_IMAGES, 3, 16, 16], generator=gen) * 2 - 1
    golden = {"images": images, "images_down": lsref.box_downsample(images, CLASSIFIER["resolution"])}
    logits32, logits64 = [], []
    with torch.no_grad():
        for i, st in enumerate(states):
            variables = dict(st["variables"])
            kw = json.loads(meta[f"classifier_{i:02d}_kwargs"])
            for name, value in variables.items():  # the bundle holds the variables in ganforge's layouts
                assert np.array_equal(tensors[f"classifier_{i:02d}.{name}"].numpy(), pgref.to_ganforge(name, value))
            logits32.append(lsref.classifier_logits(variables, kw, images, torch.float32))
            logits64.append(lsref.classifier_logits(variables, kw, images.double(), torch.float64))
    golden["logits"] = torch.stack(logits32, dim=1)
    golden["logits_f64"] = torch.stack(logits64, dim=1)
    err = (golden["logits"].double() - golden["logits_f64"]).abs().max().item()
    golden.update({k: as_tensor(v) for k, v in svm_golden().items()})
    size = write_safetensors(os.path.join(outdir, "ls_golden.bin"), golden,
                             {"num_keep": str(NUM_KEEP), "svm": "sklearn.svm.LinearSVC() defaults"})
    print(f"wrote {classifiers} ({os.path.getsize(classifiers)} bytes): 40 classifiers, D_kwargs of 00: "
          f"{meta['classifier_00_kwargs']}")
    print(f"wrote {os.path.join(outdir, 'ls_golden.bin')} ({size} bytes); logits float32 vs float64: {err:.3g}")
    for k in sorted(golden):
        if not any(k.startswith(p) and k[len(p):].isdigit() for p in ("kept_", "targets_", "pred_z_", "pred_w_",
                                                                      "decision_z_", "decision_w_", "coef_z_",
                                                                      "coef_w_", "intercept_z_", "intercept_w_")) \
                or k.endswith("_0"):
            t = golden[k]
            shown = f" = {t.tolist()}" if t.numel() <= 10 and not k.startswith(("pred", "decision")) else ""
            print(f"  {k} {str(t.dtype).replace('torch.', '')} {list(t.shape)}{shown}")
    print("  (and the same for attributes 1-4)")


if __name__ == "__main__":
    main(OUTDIR)
