#!/bin/sh
# The oneDNN probe in CMakeLists.txt (configure only, a fresh build folder
# for each case under WORK, which is removed first and on every exit):
#   cmake_onednn.sh CMAKE SOURCE_DIR WORK
# - it looks where find_package(dnnl) would look first, a dnnl_DIR given on
#   the command line (a fake, empty dnnl-config.cmake there is the one found);
# - a GF_DNNL_CONFIG that names no file (a stale cache entry: the file was
#   removed) is passed over rather than read, which failed the configure;
# - a dnnl config built for OpenCL (Debian's: DNNL_GPU_RUNTIME "OCL", then
#   find_package(OpenCL REQUIRED)) while OpenCL is not found (hidden here by
#   CMAKE_DISABLE_FIND_PACKAGE_OpenCL, which fails that REQUIRED as missing
#   headers do): the configure warns and goes on without oneDNN.
# Exits 0 when every case holds, else prints the configure's output and 1.
cmake=$1 src=$2 work=$3
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -rf "$work" && mkdir -p "$work/fake" "$work/fake_ocl" || exit 1
: > "$work/fake/dnnl-config.cmake"
printf '%s\n' 'set(DNNL_GPU_RUNTIME "OCL")' 'find_package(OpenCL REQUIRED)' > "$work/fake_ocl/dnnl-config.cmake"
log=$work/configure.log
configure() {  # configure FOLDER [CMAKE ARGS...]
  b=$work/$1
  shift
  "$cmake" -G 'Unix Makefiles' -S "$src" -B "$b" -DGF_CUDA=OFF -DGF_ONEDNN=ON -DBUILD_TESTING=OFF "$@" > "$log" 2>&1 ||
    { cat "$log"; echo "cmake_onednn: the configure failed ($*)"; exit 1; }
}
configure hint -Ddnnl_DIR="$work/fake"
grep -qx "GF_DNNL_CONFIG:FILEPATH=$work/fake/dnnl-config.cmake" "$work/hint/CMakeCache.txt" ||
  { echo "dnnl_DIR not looked in:"; grep GF_DNNL_CONFIG "$work/hint/CMakeCache.txt"; exit 1; }
configure stale -DGF_DNNL_CONFIG="$work/gone/dnnl-config.cmake"
configure no_opencl -Ddnnl_DIR="$work/fake_ocl" -DCMAKE_DISABLE_FIND_PACKAGE_OpenCL=ON
# CMake wraps a warning's lines: matched with the line breaks joined.
tr -s ' \n' '  ' < "$log" | grep -q "oneDNN: $work/fake_ocl/dnnl-config.cmake needs the OpenCL headers" ||
  { cat "$log"; echo "cmake_onednn: no warning that the dnnl config needs OpenCL"; exit 1; }
if grep -q GF_WITH_ONEDNN "$work/no_opencl/CMakeFiles/gf_kernels.dir/flags.make"; then
  cat "$work/no_opencl/CMakeFiles/gf_kernels.dir/flags.make"
  echo "cmake_onednn: oneDNN is on without OpenCL"
  exit 1
fi
exit 0
