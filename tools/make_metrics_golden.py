#!/usr/bin/python3
"""Golden values for the FID and Inception Score arithmetic, computed as the
official StyleGAN2-ADA metrics compute them from features.

FID (metrics/frechet_inception_distance.py, metric_utils.FeatureStats):
float64 sums of the features and their outer products, mean = sum / N,
cov = sum x x^T / N - mean mean^T, then |mu_g - mu_r|^2 + tr(S_g + S_r -
2 sqrtm(S_g S_r)) with scipy.linalg.sqrtm, real part. IS
(metrics/inception_score.py): float32 probabilities in 10 consecutive
splits, exp(mean KL(p || mean p)) per split, numpy's mean and std.

KID (metrics/kernel_inception_distance.py): the official loop as written,
float32 features, np.random.choice subsets from numpy's global RNG (seeded
here), x @ x.T and the sums in float32 as numpy does them; and the same
subsets through the same formula in float64, which is what ganforge
computes.

PPL (metrics/perceptual_path_length.py): float32 distances, the 1st
percentile with 'lower' and the 99th with 'higher' interpolation, the mean
of the values between them (np.extract, np.mean in float32); beside it the
mean of the same values in float64, which is what ganforge computes.

PR (metrics/precision_recall.py): the features rounded to float16, the
distances between float16 rows (here exact, in float64, then rounded to
float16 as cdist's float16 output), each manifold row's radius its
kthvalue(k + 1) over its distances to the manifold, a probe inside when its
distance to some row is <= that row's radius, the mean in float32.

For every case <name> this stores <name>.gen and <name>.real (float32
features, one row per image) and <name>.fid (float64), or <name>.probs and
<name>.is (mean, std), or <name>.gen_subsets and <name>.real_subsets
([num_subsets, m] row indices, stored as float64) and <name>.kid (float64:
the official float32 value, the float64 value), or <name>.dist (float32)
and <name>.ppl (float64: the official float32 value, the float64 mean, the
number of values kept), or <name>.real, <name>.gen and <name>.pr (float64:
precision, recall, k), in tests/data/metrics_golden.bin.

Run from the repository root: /usr/bin/python3 tools/make_metrics_golden.py [out.bin]
"""
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()
import pydeps  # noqa: E402
if __name__ == "__main__":  # the command line first: --help and a bad flag need neither NumPy nor PyTorch
    OUT = pydeps.output_file(__doc__, os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                   "metrics_golden.bin"))

pydeps.require("make_metrics_golden", "numpy", "torch", "scipy")

import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402
import torch  # noqa: E402

from golden_io import write_safetensors  # noqa: E402


def mean_cov(x):
    x64 = x.astype(np.float64)
    n = x.shape[0]
    mean = x64.sum(axis=0) / n
    cov = (x64.T @ x64) / n - np.outer(mean, mean)
    return mean, cov


def fid(gen, real):
    mu_g, s_g = mean_cov(gen)
    mu_r, s_r = mean_cov(real)
    m = np.square(mu_g - mu_r).sum()
    s, _ = scipy.linalg.sqrtm(np.dot(s_g, s_r), disp=False)
    return float(np.real(m + np.trace(s_g + s_r - s * 2)))


def inception_score(probs, splits=10):
    n = probs.shape[0]
    scores = []
    for i in range(splits):
        part = probs[i * n // splits:(i + 1) * n // splits]
        kl = part * (np.log(part) - np.log(np.mean(part, axis=0, keepdims=True)))
        scores.append(np.exp(np.mean(np.sum(kl, axis=1))))
    return float(np.mean(scores)), float(np.std(scores))


def kid(gen, real, num_subsets, max_subset_size, seed):
    """The official compute_kid's arithmetic on gen and real features
    (float32), its subsets drawn from np.random seeded with seed; returns
    (official float32 value, float64 value, gen subsets, real subsets)."""
    np.random.seed(seed)
    n = real.shape[1]
    m = min(min(real.shape[0], gen.shape[0]), max_subset_size)
    t, t64, gen_sub, real_sub = 0, 0.0, [], []
    for _subset_idx in range(num_subsets):
        gi = np.random.choice(gen.shape[0], m, replace=False)
        ri = np.random.choice(real.shape[0], m, replace=False)
        gen_sub.append(gi)
        real_sub.append(ri)
        x, y = gen[gi], real[ri]
        a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
        b = (x @ y.T / n + 1) ** 3
        t += (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
        x, y = x.astype(np.float64), y.astype(np.float64)
        a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
        b = (x @ y.T / n + 1) ** 3
        t64 += (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
    return float(t / num_subsets / m), float(t64 / num_subsets / m), np.stack(gen_sub), np.stack(real_sub)


def percentile(x, q, how):
    """np.percentile with the named interpolation ('method' since numpy 1.22)."""
    try:
        return np.percentile(x, q, method=how)
    except TypeError:
        return np.percentile(x, q, interpolation=how)


def ppl(dist):
    """The official filter and mean of float32 distances; returns (official
    float32 mean, float64 mean of the same values, how many were kept)."""
    lo = percentile(dist, 1, "lower")
    hi = percentile(dist, 99, "higher")
    kept = np.extract(np.logical_and(dist >= lo, dist <= hi), dist)
    return float(kept.mean()), float(kept.astype(np.float64).mean()), kept.size


def half_distances(a, b):
    """cdist of float16 rows as float16 values: exact in float64, rounded once."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    d = np.sqrt(np.square(a64[:, None, :] - b64[None, :, :]).sum(-1))
    return d.astype(np.float16)


def precision_recall(real, gen, k):
    """The official compute_pr on float32 features (one process, one batch)."""
    real16, gen16 = real.astype(np.float16), gen.astype(np.float16)
    out = []
    for manifold, probes in ((real16, gen16), (gen16, real16)):
        dist = half_distances(manifold, manifold).astype(np.float32)
        kth = np.partition(dist, k, axis=1)[:, k].astype(np.float16)
        pred = (half_distances(probes, manifold) <= kth[None, :]).any(axis=1)
        out.append(float(pred.astype(np.float32).mean()))
    return out


def features(rng, n, d, shift=0.0, scale=1.0, rank=None):
    """Correlated float32 features; rank < d gives singular covariances."""
    k = d if rank is None else rank
    mix = rng.standard_normal((k, d)) / np.sqrt(k)
    return ((rng.standard_normal((n, k)) @ mix) * scale + shift).astype(np.float32)


def main(out):
    rng = np.random.default_rng(2026)
    t = {}
    cases = {
        "fid_d16": (features(rng, 400, 16), features(rng, 300, 16, shift=0.3, scale=1.2)),
        "fid_d64_close": (features(rng, 200, 64), features(rng, 250, 64, shift=0.01)),
        "fid_d1": (features(rng, 50, 1), features(rng, 70, 1, shift=2.0, scale=0.5)),
        # Fewer images than features: singular covariances, sqrtm of a
        # product with zero eigenvalues (the small-sample case of a quick check).
        "fid_d48_singular": (features(rng, 30, 48), features(rng, 40, 48, shift=0.1)),
    }
    for name, (gen, real) in cases.items():
        t[name + ".gen"] = torch.from_numpy(gen)
        t[name + ".real"] = torch.from_numpy(real)
        t[name + ".fid"] = torch.tensor([fid(gen, real)], dtype=torch.float64)
    for name, (n, k, temp) in {"is_n40_k12": (40, 12, 1.0), "is_n53_k30_peaked": (53, 30, 4.0)}.items():
        logits = torch.from_numpy(rng.standard_normal((n, k)).astype(np.float32)) * temp
        probs = torch.softmax(logits, dim=1)
        t[name + ".probs"] = probs
        t[name + ".is"] = torch.tensor(inception_score(probs.numpy()), dtype=torch.float64)
    # KID: a generator of its own, so the cases above keep their values.
    # Non-negative features as Inception's pool3 (after a ReLU and an
    # average), of a few scales; kid_d8_all_real has m = #real.
    krng = np.random.default_rng(2027)
    kid_cases = {
        "kid_d16": (np.abs(features(krng, 300, 16)), np.abs(features(krng, 200, 16, shift=0.2)), 5, 100),
        "kid_d32_far": (np.abs(features(krng, 250, 32, scale=2.0)), np.abs(features(krng, 180, 32, shift=1.0)), 4, 64),
        "kid_d8_all_real": (np.abs(features(krng, 120, 8)), np.abs(features(krng, 40, 8, scale=0.7)), 3, 1000),
        # Close distributions: KID is a small difference of large sums, where
        # the official float32 arithmetic loses digits.
        "kid_d48_close": (np.abs(features(krng, 150, 48)), np.abs(features(krng, 160, 48, shift=0.02)), 4, 120),
    }
    for i, (name, (gen, real, subsets, max_size)) in enumerate(kid_cases.items()):
        official, exact, gi, ri = kid(gen, real, subsets, max_size, seed=100 + i)
        t[name + ".gen"] = torch.from_numpy(gen)
        t[name + ".real"] = torch.from_numpy(real)
        t[name + ".gen_subsets"] = torch.from_numpy(gi.astype(np.float64))
        t[name + ".real_subsets"] = torch.from_numpy(ri.astype(np.float64))
        t[name + ".kid"] = torch.tensor([official, exact], dtype=torch.float64)
    # PPL: heavy-tailed distances as PPL's are (a few huge outliers), with
    # ties at the percentiles; n = 1 and 2 have lo and hi at the ends.
    prng = np.random.default_rng(2028)
    ppl_cases = {
        "ppl_n1": np.array([3.5], dtype=np.float32),
        "ppl_n2": np.array([7.0, 2.0], dtype=np.float32),
        "ppl_n101": (prng.lognormal(3.0, 1.0, 101) * 10).astype(np.float32),
        "ppl_n250": (prng.lognormal(5.0, 1.5, 250)).astype(np.float32),
        "ppl_n1000_ties": np.round(prng.lognormal(2.0, 1.0, 1000)).astype(np.float32),
    }
    for name, dist in ppl_cases.items():
        official, exact, kept = ppl(dist)
        t[name + ".dist"] = torch.from_numpy(dist)
        t[name + ".ppl"] = torch.tensor([official, exact, kept], dtype=torch.float64)
    # PR: non-negative features as VGG16's fc2 after its ReLU, of several
    # scales (float16's steps differ), with duplicated rows (distance 0) and
    # a generated set that copies part of the real one.
    qrng = np.random.default_rng(2029)
    real = np.maximum(features(qrng, 60, 24, scale=3.0), 0)
    copies = real[:10] + 0.01 * qrng.standard_normal((10, 24)).astype(np.float32)
    pr_cases = {
        "pr_d24_k3": (real, np.vstack([np.maximum(features(qrng, 35, 24, scale=3.0, shift=0.4), 0), copies]), 3),
        "pr_d8_k1_dups": (np.vstack([np.abs(features(qrng, 20, 8)), np.abs(features(qrng, 5, 8))[[0, 0, 1, 1, 2]]]),
                          np.abs(features(qrng, 30, 8, shift=0.5)), 1),
        "pr_d16_k3_large": (np.abs(features(qrng, 50, 16, scale=300.0)), np.abs(features(qrng, 45, 16, scale=250.0)), 3),
    }
    # Clusters whose members differ by less than float16's step (1 between
    # 1024 and 2048): in float16 each cluster is one point and every radius
    # 0, and a generated row 0.45 off a cluster's centre in every coordinate
    # lands on it (inside); exactly, it lies outside the cluster's radius.
    centers = np.round(qrng.uniform(1100, 1900, (15, 16)))
    real_c = np.repeat(centers, 4, axis=0) + qrng.uniform(-0.2, 0.2, (60, 16))
    offsets = 0.45 * np.sign(qrng.standard_normal((10, 16)))
    gen_c = np.vstack([centers[:10] + offsets, qrng.uniform(1100, 1900, (10, 16))])
    pr_cases["pr_d16_k3_float16_steps"] = (real_c.astype(np.float32), gen_c.astype(np.float32), 3)
    for name, (real_f, gen_f, k) in pr_cases.items():
        precision, recall = precision_recall(real_f, gen_f, k)
        t[name + ".real"] = torch.from_numpy(np.ascontiguousarray(real_f, dtype=np.float32))
        t[name + ".gen"] = torch.from_numpy(np.ascontiguousarray(gen_f, dtype=np.float32))
        t[name + ".pr"] = torch.tensor([precision, recall, k], dtype=torch.float64)
    # float16 rounding of float64 values: every range (subnormal, normal,
    # past the largest finite), exact ties, both signs.
    hrng = np.random.default_rng(2030)
    x = np.concatenate([hrng.standard_normal(200) * 10.0 ** hrng.integers(-9, 6, 200),
                        [0.0, -0.0, 65504.0, 65519.99, 65520.0, 1e6, -7e4, 2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -25,
                         1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 2048 + 1.0, 6.1e-5]])
    t["half.x"] = torch.from_numpy(x)
    with np.errstate(over="ignore"):  # past 65504: infinity, as meant
        t["half.rounded"] = torch.from_numpy(x.astype(np.float16).astype(np.float64))
    write_safetensors(out, t, {"generator": "tools/make_metrics_golden.py"})


if __name__ == "__main__":
    main(OUT)
