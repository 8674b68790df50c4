#!/usr/bin/env bash
# Installs dependencies, builds, and runs the test suite: the CPU tests always,
# the CUDA tests too (ctest reports them as skipped without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh --torch --chromium  # the weight-conversion tests run PyTorch; the report tests Chromium
scripts/build.sh
cd build
# Label cpu: always. Label cuda: runs on a GPU, reported as skipped without one.
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)"
