#!/bin/sh
# The dependants of a skipped fixture skip, and still fail when the setup
# passed without its output (tests/cli/fixture_gate.sh, gf_test in
# tests/cli/helpers.cmake): a throwaway CMake project (no compiler) of the
# same helpers, run by ctest three times.
#   fixture_skips.sh CMAKE CTEST SOURCE_DIR WORK
# WORK is removed first and on every exit.
cmake=$1 ctest=$2 src=$3 work=$4
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -rf "$work" && mkdir -p "$work/proj" "$work/data" || exit 1
d=$work/data
# The setup "source" skips (77), writes out.txt, or passes without writing
# it, as data/mode says; "derive" is set up from it (a chain); the others
# need one or the other, through gf_cli_test, gf_expect_error and gf_test
# (whose sh -c scripts hold ";" and an unbalanced "[" that must reach sh whole).
cat > "$work/proj/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.18)
project(fixture_skips NONE)
enable_testing()
include($src/tests/cli/helpers.cmake)
gf_cli_test(source FIXTURES_SETUP src
            COMMAND sh -c "case \$(cat $d/mode) in skip) exit 77 ;; pass) echo data > $d/out.txt ;; esac")
gf_cli_test(reads FIXTURES_REQUIRED src EXPECT "^data\$" COMMAND cat $d/out.txt)
gf_cli_test(derive FIXTURES_REQUIRED src FIXTURES_SETUP derived COMMAND cp $d/out.txt $d/derived.txt)
gf_test(cpu.uses_derived FIXTURES_REQUIRED "derived;src" COMMAND sh -c "a=1; cmp $d/out.txt $d/derived.txt && test \$a = 1")
gf_expect_error(refuses "^error: \\\\[0, 8\\\\)\$" src
                sh -c "test -s $d/out.txt || exit 3; echo 'error: [0, 8)' >&2; exit 1")
if(UNGATED)  # a dependant defined without gf_test: the configure must refuse it
  add_test(NAME cpu.ungated COMMAND cat $d/out.txt)
  set_tests_properties(cpu.ungated PROPERTIES FIXTURES_REQUIRED src)
endif()
gf_check_fixture_gates()
EOF
"$cmake" -S "$work/proj" -B "$work/build" > "$work/configure.log" 2>&1 || { cat "$work/configure.log"; exit 1; }
ok=0
# run MODE EXPECTED_CTEST_STATUS TEST:RESULT...: one ctest run; each named
# test must end as Passed, Skipped or Failed.
run() {
  mode=$1 want_rc=$2
  shift 2
  echo "== setup '$mode'"
  rm -f "$d/out.txt" "$d/derived.txt"
  echo "$mode" > "$d/mode"
  (cd "$work/build" && "$ctest" --output-on-failure > "$work/ctest.log" 2>&1)
  rc=$?
  cat "$work/ctest.log"
  if [ "$want_rc" = 0 ] && [ "$rc" -ne 0 ]; then echo "FAILED: ctest exited $rc, expected 0"; ok=1; fi
  if [ "$want_rc" != 0 ] && [ "$rc" -eq 0 ]; then echo "FAILED: ctest passed, expected a failure"; ok=1; fi
  for tr in "$@"; do
    t=${tr%%:*} r=${tr#*:}
    case $r in
      Passed) re="Test +#[0-9]+: cpu\\.$t \\.+ +Passed" ;;
      Skipped) re="Test +#[0-9]+: cpu\\.$t \\.+\\*+Skipped" ;;
      Failed) re="Test +#[0-9]+: cpu\\.$t \\.+\\*+Failed" ;;
    esac
    grep -Eq "$re" "$work/ctest.log" || { echo "FAILED: cpu.$t is not $r"; ok=1; }
  done
}
run skip 0 source:Skipped reads:Skipped derive:Skipped uses_derived:Skipped refuses:Skipped
grep -q "fixture_gate: skipped: fixture src was skipped (cpu.source exited 77)" "$work/build/Testing/Temporary/LastTest.log" ||
  { echo "FAILED: no reason given for the skip"; ok=1; }
# The markers of the first run are stale now: the setups pass, so do the others.
run pass 0 source:Passed reads:Passed derive:Passed uses_derived:Passed refuses:Passed
# A setup that passes without its output: its dependants fail, not skip.
run lose 1 source:Passed reads:Failed derive:Failed refuses:Failed
echo "== a dependant defined with add_test"
if "$cmake" -S "$work/proj" -B "$work/build" -DUNGATED=ON > "$work/configure.log" 2>&1; then
  echo "FAILED: the configure accepted cpu.ungated"; ok=1
elif ! grep -q "cpu.ungated: it requires fixtures that may be skipped" "$work/configure.log"; then
  cat "$work/configure.log"; echo "FAILED: the configure failed otherwise"; ok=1
else
  echo "refused: cpu.ungated"
fi
[ "$ok" -eq 0 ] && echo "fixture_skips: passed"
exit "$ok"
