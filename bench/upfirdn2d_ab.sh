#!/bin/sh
# The CPU upfirdn2d of this checkout against the one of git revision REV, in
# one process: the small config's training calls, interleaved, CPU time of
# one thread, medians, GB/s against a 64 MiB memcpy, and whether the two
# agree bit for bit. Builds into DIR (default build-cpu/upfirdn2d_ab). REV's
# kernel must be the one file kernels/upfirdn2d.cpp (as before e561d3a); the
# program's source is bench/upfirdn2d_ab/main.cpp (a folder of its own so
# that CMake's bench/*.cpp does not make it a target).
#   bench/upfirdn2d_ab.sh REV [DIR]
set -eu
[ $# -ge 1 ] || { echo "usage: bench/upfirdn2d_ab.sh REV [DIR]" >&2; exit 2; }
rev=$1
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${2:-$root/build-cpu/upfirdn2d_ab}
mkdir -p "$dir"
git -C "$root" show "$rev:kernels/upfirdn2d.cpp" >"$dir/old.cpp.tmp" || { echo "upfirdn2d_ab: no kernels/upfirdn2d.cpp at '$rev'" >&2; exit 1; }
# The old kernel in its own namespace, so both link into one program.
sed -e 's/^namespace gf::cpu {/namespace gf::cpu_old {\nusing gf::cpu::parallel_for;/' \
    -e 's|^}  // namespace gf::cpu$|}  // namespace gf::cpu_old|' "$dir/old.cpp.tmp" >"$dir/old.cpp"
flags="-I$root -O3 -DNDEBUG -ffp-contract=off -fopenmp -std=c++17"
${CXX:-c++} $flags -c "$dir/old.cpp" -o "$dir/old.o"
new_objs=""
for f in "$root"/kernels/upfirdn2d*.cpp; do
  o="$dir/new_$(basename "$f" .cpp).o"
  ${CXX:-c++} $flags -c "$f" -o "$o"
  new_objs="$new_objs $o"
done
${CXX:-c++} $flags "$root/bench/upfirdn2d_ab/main.cpp" "$dir/old.o" $new_objs -o "$dir/upfirdn2d_ab"
OMP_NUM_THREADS=1 "$dir/upfirdn2d_ab"
