#!/bin/sh
# Runs a program that must fail the way every ganforge program reports bad
# input (one line on stderr, exit status 1; a crash exits otherwise):
#   expect_error.sh ERE program args...
# Passes (exit 0) when the program exits with status 1 and prints exactly one
# line, which matches ERE (grep -E); otherwise prints what it got and exits 1.
re=$1
shift
out=$("$@" 2>&1)
rc=$?
lines=$(printf '%s\n' "$out" | wc -l)
if [ "$rc" -eq 1 ] && [ "$lines" -eq 1 ] && printf '%s\n' "$out" | grep -Eq -- "$re"; then
  printf '%s\n' "$out"
  exit 0
fi
printf 'expected exit status 1 and one line matching: %s\ngot exit status %s and %s lines:\n%s\n' "$re" "$rc" "$lines" "$out"
exit 1
