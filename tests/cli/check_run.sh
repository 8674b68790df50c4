#!/bin/sh
# Runs a program that must succeed, for a ctest without PASS_REGULAR_EXPRESSION
# (which would make ctest ignore the exit status):
#   check_run.sh [--fresh DIR]... [--expect ERE]... [--reject ERE]... -- program args...
# --fresh DIR is removed first, so the run's output lands in a known, empty
# place; every --expect pattern (grep -E) must match some line of the output,
# no --reject pattern any line. Prints the output and then what failed, if
# anything; exits 0 only when the program exited 0 and every check held, and
# 77 when the program exited 77 (skipped).
expect_file=$(mktemp) || exit 2
reject_file=$(mktemp) || exit 2
out_file=$(mktemp) || exit 2
trap 'rm -f "$expect_file" "$reject_file" "$out_file"' EXIT
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) rm -rf "$2" || exit 2; shift 2 ;;
    --expect) printf '%s\n' "$2" >> "$expect_file"; shift 2 ;;
    --reject) printf '%s\n' "$2" >> "$reject_file"; shift 2 ;;
    --) shift; break ;;
    *) echo "check_run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
"$@" > "$out_file" 2>&1
rc=$?
cat "$out_file"
# 77: the program reports itself skipped (a missing optional tool, e.g. PyTorch);
# gf_cli_test gives every test SKIP_RETURN_CODE 77.
if [ "$rc" -eq 77 ]; then echo "check_run: skipped (exit status 77)"; exit 77; fi
ok=0
if [ "$rc" -ne 0 ]; then echo "check_run: FAILED: exit status $rc"; ok=1; fi
while IFS= read -r re; do
  grep -Eq -- "$re" "$out_file" || { echo "check_run: FAILED: no line matches: $re"; ok=1; }
done < "$expect_file"
while IFS= read -r re; do
  grep -Eq -- "$re" "$out_file" && { echo "check_run: FAILED: a line matches: $re"; ok=1; }
done < "$reject_file"
[ "$ok" -eq 0 ] && echo "check_run: passed (exit status 0)"
exit "$ok"
