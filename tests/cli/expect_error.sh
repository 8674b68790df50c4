#!/bin/sh
# Runs a program that must fail. Its output is echoed as is only when it exits
# non-zero with exactly one line, so a ctest's PASS_REGULAR_EXPRESSION anchored
# with ^ checks the exit status, the line count and the message at once.
out=$("$@" 2>&1)
rc=$?
lines=$(printf '%s\n' "$out" | wc -l)
if [ "$rc" -ne 0 ] && [ "$lines" -eq 1 ]; then
  printf '%s\n' "$out"
else
  printf 'expected one error line and a non-zero exit; got exit %s and %s lines:\n%s\n' "$rc" "$lines" "$out"
fi
