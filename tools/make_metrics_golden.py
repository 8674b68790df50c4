#!/usr/bin/python3
"""Golden values for the FID and Inception Score arithmetic, computed as the
official StyleGAN2-ADA metrics compute them from features.

FID (metrics/frechet_inception_distance.py, metric_utils.FeatureStats):
float64 sums of the features and their outer products, mean = sum / N,
cov = sum x x^T / N - mean mean^T, then |mu_g - mu_r|^2 + tr(S_g + S_r -
2 sqrtm(S_g S_r)) with scipy.linalg.sqrtm, real part. IS
(metrics/inception_score.py): float32 probabilities in 10 consecutive
splits, exp(mean KL(p || mean p)) per split, numpy's mean and std.

For every case <name> this stores <name>.gen and <name>.real (float32
features, one row per image) and <name>.fid (float64), or <name>.probs and
<name>.is (mean, std), in tests/data/metrics_golden.bin.

Run from the repository root: /usr/bin/python3 tools/make_metrics_golden.py [out.bin]
"""
import os

import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()
import pydeps  # noqa: E402
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


def features(rng, n, d, shift=0.0, scale=1.0, rank=None):
    """Correlated float32 features; rank < d gives singular covariances."""
    k = d if rank is None else rank
    mix = rng.standard_normal((k, d)) / np.sqrt(k)
    return ((rng.standard_normal((n, k)) @ mix) * scale + shift).astype(np.float32)


def main():
    out = pydeps.output_file(__doc__, os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                   "metrics_golden.bin"))
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
    write_safetensors(out, t, {"generator": "tools/make_metrics_golden.py"})


if __name__ == "__main__":
    main()
