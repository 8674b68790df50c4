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
# The libraries (kernels, engine, networks and training) as unity builds,
# 8 files a translation unit (CMakeLists.txt's GF_UNITY_LIBRARIES): a fresh
# build on 2 cores takes about a quarter less time. For development, where a
# change should recompile its one file rather than its unit:
# GF_UNITY_LIBRARIES=OFF scripts/build.sh.
unity="${GF_UNITY_LIBRARIES:-ON}"
# -U: look for OpenBLAS afresh, so a build folder made before the OpenMP
# build was installed picks it up.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch" \
  -DGF_UNITY_LIBRARIES="$unity" -U OPENBLAS_LIBRARY -U CBLAS_INCLUDE_DIR >/dev/null
cmake --build build -j "$jobs"
