#!/usr/bin/env bash
# Installs dependencies, builds, and runs the test suite: the CPU tests always,
# the CUDA tests too (ctest reports them as skipped without a GPU); then every
# CUDA test again on the CPU emulator of the CUDA runtime, with ASan and UBSan
# (scripts/test_emulated_cuda.sh), so that no CUDA test goes unrun.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh --torch --chromium  # the weight-conversion tests run PyTorch; the report tests Chromium
scripts/build.sh
(
  cd build
  # Label cpu: always. Label cuda: runs on a GPU, reported as skipped without one.
  ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" | tee ctest.log
)
# A cpu test skips only when something it needs is missing (PyTorch, Chromium,
# MPI); this script installed all of it, so a skip here hides a broken setup.
if grep -E '^[[:space:]]*[0-9]+ - cpu\.[^ ]+ \(Skipped\)' build/ctest.log; then
  echo "test.sh: error: the cpu tests above were skipped although their dependencies were installed" >&2
  exit 1
fi
scripts/test_emulated_cuda.sh
