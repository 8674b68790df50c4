#!/usr/bin/env bash
# Configures and builds ganforge into build/ (binaries in build/bin/).
# CUDA is used when nvcc is found. With a GPU present we build for that GPU's
# architecture only; without one (CI) for sm_90 only, since nvcc time grows
# with each architecture. Set CMAKE_CUDA_ARCHITECTURES to override (a release
# build for many GPUs leaves it unset and gets CMake's list: 80;86;89;90, plus
# 70 with CUDA 12).
set -euo pipefail
cd "$(dirname "$0")/.."
arch="${CMAKE_CUDA_ARCHITECTURES:-}"
if [[ -z "$arch" ]]; then
  cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n1 | tr -d ' .' || true)
  arch="${cap:-90}"
fi
jobs=$(nproc 2>/dev/null || echo 2)
# -U: look for OpenBLAS afresh, so a build folder made before the OpenMP
# build was installed picks it up.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch" \
  -U OPENBLAS_LIBRARY -U CBLAS_INCLUDE_DIR >/dev/null
cmake --build build -j "$jobs"
