"""The Python baselines' timing (bench/torch_vgg16.py, bench/numpy_pggan_metrics.py):
the median seconds of `samples` calls of fn after one untimed warm-up call,
as the C++ benchmarks take medians (bench/bench_common.h). Standard library only."""
import statistics
import time


def median_time(fn, samples=3):
    fn()
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
