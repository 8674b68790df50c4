#!/usr/bin/env bash
# The main job on a fresh machine: install, build, and train StyleGAN2 on the
# default data (Fashion-MNIST, 32x32). On a CPU the 'small' config makes its
# 50 kimg in about 12 minutes on 2 idle cores (about 14.5 sec/kimg, measured
# 2026-12-01 at 8dcd080 on the CI machine kind; an earlier build measured 9
# there the same morning, bench/RESULTS.md); with a GPU it trains on cuda:0. Extra
# arguments go to train_stylegan and override these (e.g. --kimg 100).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
device=cpu
if nvidia-smi -L >/dev/null 2>&1 && [[ -x build/bin/train_stylegan ]]; then device=cuda; fi
exec build/bin/train_stylegan --outdir runs --cfg small --kimg 50 --tick 1 --snap 5 --device "$device" "$@"
