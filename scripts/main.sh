#!/usr/bin/env bash
# The main job on a fresh machine: install, build, and train StyleGAN2 on the
# default data (Fashion-MNIST, 32x32). On a CPU the 'small' config makes its
# 50 kimg in 6 to 12 minutes on 2 idle cores of the CI machine kind, whose
# VMs differ in speed (with ADA, the default: 6 min 29 s, 7.1-8.9 sec/kimg,
# measured 2026-12-05 at 6861f94 on an AMD EPYC VM; 6 min 18 s on an Intel
# Xeon VM on 2026-12-01, and 14.5 sec/kimg on another before the faster CPU
# upfirdn2d: bench/RESULTS.md); with a GPU it trains on cuda:0. Extra
# arguments go to train_stylegan and override these (e.g. --kimg 100).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
device=cpu
if nvidia-smi -L >/dev/null 2>&1 && [[ -x build/bin/train_stylegan ]]; then device=cuda; fi
exec build/bin/train_stylegan --outdir runs --cfg small --kimg 50 --tick 1 --snap 5 --device "$device" "$@"
