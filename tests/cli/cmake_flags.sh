#!/bin/sh
# The project configured for nvcc (a fresh build folder, configure only: no
# GPU, no compile): GCC's flags (GF_WARNINGS, the GF_SANITIZE set) reach the
# C++ sources and never nvcc, which refuses -Wall ("nvcc fatal: Unknown
# option") on every .cu file of gf_kernels.
#   cmake_flags.sh CMAKE SOURCE_DIR WORK [NVCC]
# Skipped (77) without nvcc, and when that configure fails on finding CUDA
# itself (the compiler, the toolkit, cuDNN, an architecture), which the flags
# play no part in: any other failure, or a flag in the wrong place, fails
# (1). The generator is named: flags.make is the Makefile generator's
# (CMAKE_GENERATOR=Ninja has none). WORK, the nested build folder, is removed
# first and on every exit, a failure or a skip included.
cmake=$1 src=$2 work=$3 nvcc=${4:-}
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ -z "$nvcc" ]; then
  nvcc=/usr/local/cuda/bin/nvcc
  [ -x "$nvcc" ] || nvcc=$(command -v nvcc) || exit 77
fi
# CMake's and FindCUDNN's words when CUDA itself is missing or broken.
cuda_not_found='Could NOT find (CUDNN|CUDAToolkit)|No CMAKE_CUDA_COMPILER could be found|CUDA compiler identification is unknown|Failed to detect a default CUDA architecture|CMAKE_CUDA_ARCHITECTURES must be|Failed to find nvcc|Compiler requires the CUDA toolkit|Unsupported gpu architecture|CUDA compiler.*is not able to compile a simple test program'
rm -rf "$work" && mkdir -p "$work" || exit 1
log=$work/configure.log
if ! "$cmake" -G 'Unix Makefiles' -S "$src" -B "$work/build" -DGF_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc" \
     -DGF_SANITIZE='address;undefined' -DBUILD_TESTING=OFF > "$log" 2>&1; then
  if grep -qE "$cuda_not_found" "$log"; then
    echo "skipped: the configure found no usable CUDA, the flags untested:"
    grep -A4 'CMake Error' "$log"
    exit 77
  fi
  cat "$log"
  exit 1
fi
f=$work/build/CMakeFiles/gf_kernels.dir/flags.make
grep -q '^CUDA_FLAGS' "$f" || { echo "no CUDA_FLAGS in $f"; exit 1; }
for flag in -Wall -fsanitize=; do
  grep '^CXX_FLAGS' "$f" | grep -q -- "$flag" || { echo "the C++ lost $flag:"; cat "$f"; exit 1; }
done
if grep '^CUDA_FLAGS' "$f" | grep -e -Wall -e -Wextra -e -fsanitize -e -fno-omit-frame-pointer; then exit 1; fi
exit 0
