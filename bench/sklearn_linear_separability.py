#!/usr/bin/python3
"""The baseline of bench_linear_separability's linear_svc row: the official
metric's SVM, scikit-learn's LinearSVC() with its defaults (NVlabs/stylegan
metrics/linear_separability.py), fitted on the same data: x [n, d] float32 =
numpy RandomState(1).standard_normal((n, d)), then v [d] and noise [n],
label 1 where x v / sqrt(d) + 0.3 noise > 0. Seconds a fit, the median of
--samples fits (no warm-up: a fit takes minutes, as bench_linear_separability's).

Usage: /usr/bin/python3 bench/sklearn_linear_separability.py [--quick] [--samples 1]
(--quick: 10000 x 64 rows; else 100000 x 512, the official num_keep and
latent size).
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import pydeps  # noqa: E402  (standard library only: one-line flag errors)


def main():
    ap = pydeps.OneLineParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--samples", type=pydeps.integer(1, 1000), default=1)
    a = ap.parse_args()
    pydeps.require("sklearn_linear_separability.py", "numpy", "sklearn")
    import warnings

    import numpy as np
    import sklearn
    import sklearn.exceptions
    import sklearn.svm

    n, d = (10000, 64) if a.quick else (100000, 512)
    rs = np.random.RandomState(1)
    x = rs.standard_normal((n, d)).astype(np.float32)
    v = rs.standard_normal(d)
    noise = rs.standard_normal(n)
    labels = (x.astype(np.float64) @ v / np.sqrt(d) + 0.3 * noise > 0).astype(np.int64)
    fits, converged = [], []

    def fit():
        svm = sklearn.svm.LinearSVC(dual=True)  # the official's default (1.3+'s "auto" would pick the primal)
        with warnings.catch_warnings(record=True) as caught:  # said once below, as the C++ row says it
            warnings.simplefilter("always", sklearn.exceptions.ConvergenceWarning)
            svm.fit(x, labels)
        converged.append(not any(issubclass(w.category, sklearn.exceptions.ConvergenceWarning) for w in caught))
        fits.append(svm.predict(x))
    times = []
    for _ in range(a.samples):
        t0 = time.perf_counter()
        fit()
        times.append(time.perf_counter() - t0)
    t = statistics.median(times)
    accuracy = float(np.mean(fits[-1] == labels))
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}")
    print(f"linear_svc rows {n:7d} x {d:4d}  {t:8.3f} s a fit  ({int(labels.sum())} of class 1; "
          f"training accuracy {accuracy:.4f}{'' if converged[-1] else '; not converged'})")


if __name__ == "__main__":
    main()
