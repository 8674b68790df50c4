#!/bin/sh
# The project configured (tests on, CPU only) in a build folder whose path
# holds a space: the suite is the one failing test that says so, and running
# it leaves alone the folder its path would split into ("$work/a" of
# "$work/a b/build"), which the unquoted rm -rf of the CLI tests removed.
#   folder_paths.sh CMAKE SOURCE_DIR WORK
# WORK is removed first and on every exit.
cmake=$1 src=$2 work=$3
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -rf "$work" && mkdir -p "$work/a/kept" || exit 1
echo precious > "$work/a/kept/data.txt"
build="$work/a b/build"
if ! "$cmake" -S "$src" -B "$build" -DGF_CUDA=OFF -DBUILD_TESTING=ON > "$work/configure.log" 2>&1; then
  cat "$work/configure.log"
  exit 1
fi
# (CMake wraps a warning's lines.)
tr '\n' ' ' < "$work/configure.log" | tr -s ' ' | grep -q "ganforge: the tests need source and build folders whose paths hold no spaces" ||
  { echo "no configure warning:"; cat "$work/configure.log"; exit 1; }
cd "$build" || exit 1
tests=$(ctest -N | grep -c 'Test *#') || true
[ "$tests" = 1 ] || { echo "expected one test, got $tests:"; ctest -N; exit 1; }
if ctest --output-on-failure > "$work/ctest.log" 2>&1; then
  echo "the suite passed in a folder it cannot test:"; cat "$work/ctest.log"; exit 1
fi
grep -q "ganforge: the tests need .*clone ganforge to a plain path" "$work/ctest.log" ||
  { echo "the failing test does not say why:"; cat "$work/ctest.log"; exit 1; }
[ "$(cat "$work/a/kept/data.txt")" = precious ] || { echo "$work/a was touched"; exit 1; }
echo "one test, failing with the reason; $work/a kept"
