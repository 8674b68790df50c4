#!/usr/bin/env bash
# The main job on a fresh machine: install, build, run. Until train_stylegan
# lands this runs the engine's primitive benchmark (CPU, and GPU when present).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
build/bin/bench_primitives --quick "$@"
