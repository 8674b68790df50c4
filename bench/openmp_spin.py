"""The PyTorch side of a comparison under ganforge's OpenMP spin policy
(kernels/openmp_spin.h): ganforge's programs and benchmarks run with
GOMP_SPINCOUNT=2000 unless the user set GOMP_SPINCOUNT or OMP_WAIT_POLICY.
PyTorch's CPU ops (PyTorch 1.13 here) run on libgomp, which reads
GOMP_SPINCOUNT once, when it is loaded: prefer_short_spin() must run before
torch is imported. A ganforge program the script starts inherits the value
(standard library only)."""
import os
import sys

SHORT_SPIN_COUNT = "2000"  # kernels/openmp_spin.h kShortSpinCount


def prefer_short_spin():
    """Sets GOMP_SPINCOUNT as ganforge's programs do, unless the user chose a
    spin policy; returns the words for the script's output."""
    if "torch" in sys.modules:
        raise RuntimeError("openmp_spin.prefer_short_spin() after torch was imported: libgomp has read its spin count")
    if "GOMP_SPINCOUNT" in os.environ:
        return f"GOMP_SPINCOUNT {os.environ['GOMP_SPINCOUNT']} (yours) on both sides"
    if "OMP_WAIT_POLICY" in os.environ:
        return f"OMP_WAIT_POLICY {os.environ['OMP_WAIT_POLICY']} (yours) on both sides"
    os.environ["GOMP_SPINCOUNT"] = SHORT_SPIN_COUNT
    return f"GOMP_SPINCOUNT {SHORT_SPIN_COUNT} on both sides (ganforge's programs' default)"
