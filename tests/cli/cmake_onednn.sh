#!/bin/sh
# The oneDNN probe in CMakeLists.txt (configure only, a fresh build folder
# for each case under WORK, which is removed first and on every exit):
#   cmake_onednn.sh CMAKE SOURCE_DIR WORK
# - it looks where find_package(dnnl) would look first, a dnnl_DIR given on
#   the command line (a fake, empty dnnl-config.cmake there is the one found);
# - a GF_DNNL_CONFIG that names no file (a stale cache entry: the file was
#   removed) is passed over rather than read, which failed the configure.
# Exits 0 when every case holds, else prints the configure's output and 1.
cmake=$1 src=$2 work=$3
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -rf "$work" && mkdir -p "$work/fake" || exit 1
: > "$work/fake/dnnl-config.cmake"
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
exit 0
