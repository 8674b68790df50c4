#!/usr/bin/env bash
# The main job on a fresh machine: install, build, and train StyleGAN2 on the
# default data (Fashion-MNIST, 32x32). On a CPU the 'small' config makes its
# 50 kimg in 7 to 12 minutes on 2 idle cores of the CI machine kind, whose
# VMs differ in speed (7 min 21 s, 8.4-8.9 sec/kimg, measured 2026-12-01
# after the faster CPU upfirdn2d, on an Intel Xeon VM; 14.5 sec/kimg on
# another VM before it: bench/RESULTS.md); with a GPU it trains on cuda:0. Extra
# arguments go to train_stylegan and override these (e.g. --kimg 100).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
device=cpu
if nvidia-smi -L >/dev/null 2>&1 && [[ -x build/bin/train_stylegan ]]; then device=cuda; fi
exec build/bin/train_stylegan --outdir runs --cfg small --kimg 50 --tick 1 --snap 5 --device "$device" "$@"
