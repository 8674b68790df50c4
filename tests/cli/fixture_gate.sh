#!/bin/sh
# Skips a test whose fixture was skipped (ctest runs the tests that require a
# fixture even when its setup test was skipped; they would then fail on the
# files it never wrote):
#   fixture_gate.sh MARKS TEST [--setup F]... [--requires F]... -- program args...
# MARKS is a folder of markers "<fixture>.skipped", TEST the ctest name.
# A setup test (--setup F) removes F's marker first, so a marker left by an
# earlier run never hides a failure, and writes it when it is skipped: when
# the program exits 77, or when a fixture it requires was skipped (a chain of
# fixtures skips as a whole). A test whose required fixture has a marker
# exits 77 without running the program; otherwise the program's exit status
# is the test's, so a setup that passed but left something out still fails
# its dependants. gf_test (tests/cli/helpers.cmake) puts this in front of
# every test with fixtures.
marks=$1
test_name=$2
shift 2
setups=
required=
while [ $# -gt 0 ]; do
  case "$1" in
    --setup) setups="$setups $2"; shift 2 ;;
    --requires) required="$required $2"; shift 2 ;;
    --) shift; break ;;
    *) echo "fixture_gate.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$marks" || exit 2
for s in $setups; do
  rm -f "$marks/$s.skipped" || exit 2
done
# mark_skipped WHY: the markers of the fixtures this test sets up.
mark_skipped() {
  for s in $setups; do
    printf '%s\n' "$1" > "$marks/$s.skipped" || exit 2
    echo "fixture_gate: fixture $s marked skipped: the tests that require it will skip"
  done
}
for f in $required; do
  if [ -e "$marks/$f.skipped" ]; then
    why=$(cat "$marks/$f.skipped")
    echo "fixture_gate: skipped: fixture $f was skipped ($why)"
    mark_skipped "$test_name needs fixture $f ($why)"
    exit 77
  fi
done
"$@"
rc=$?
[ "$rc" -eq 77 ] && mark_skipped "$test_name exited 77"
exit "$rc"
