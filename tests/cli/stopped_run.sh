#!/bin/sh
# A training run stopped by a signal records how it ended (train/stop_signal.h,
# record_run_stopped in train/run_dir.h):
#   stopped_run.sh train_stylegan make_report OUTDIR INT|TERM|HUP|PIPE
# Trains until its first tick is logged, sends the signal, then checks: the
# exit status is the signal's (130, 143, 129, 141), log.txt ends with the error line,
# report.html says "Stopped: Interrupted by SIG<sig>" with no reload and no
# time left, no temporary is left, and make_report renders the same status.
# Then the same page from make_report for a run whose log ends with an
# error line (escaped), and for one whose log ends with a tick (not stopped).
train=$1 make_report=$2 out=$3 sig=$4
fail() { [ -n "$pid" ] && kill -KILL $pid 2>/dev/null; echo "FAILED: $*"; [ -f "$run/log.txt" ] && tail -n 3 "$run/log.txt"; exit 1; }
rm -rf "$out" && mkdir -p "$out" || exit 1
run=$out/00000-fashion-mnist-subset128-tiny-kimg2
# env --default-signal: a background job of sh starts with SIGINT ignored, and
# a launcher (nohup, some CI runners) may ignore SIGHUP or SIGPIPE.
OMP_NUM_THREADS=1 env --default-signal=INT,HUP,PIPE "$train" --cfg tiny --kimg 2 --tick 0.004 --snap 1000 --max-images 128 \
  --outdir "$out" > "$out/stdout.log" 2> "$out/stderr.log" &
pid=$!
i=0
until grep -q '^tick 0 ' "$run/log.txt" 2>/dev/null && [ -f "$run/report.html" ]; do
  i=$((i + 1))
  [ $i -gt 600 ] && { kill -KILL $pid; fail "no tick 0 in 300 s"; }
  kill -0 $pid 2>/dev/null || fail "the run ended before its first tick: $(cat "$out/stderr.log")"
  sleep 0.5
done
grep -q 'reloads every' "$run/report.html" || fail "the running page does not reload"
kill -s "$sig" $pid
wait $pid
rc=$?
pid=
case $sig in INT) want=130 ;; TERM) want=143 ;; HUP) want=129 ;; PIPE) want=141 ;; *) fail "signal $sig" ;; esac
[ $rc -eq $want ] || fail "exit status $rc, expected $want; stderr: $(cat "$out/stderr.log")"
line="train_stylegan: error: Interrupted by SIG$sig"
[ "$(tail -n 1 "$run/log.txt")" = "$line" ] || fail "log.txt does not end with '$line'"
[ "$(cat "$out/stderr.log")" = "$line" ] || fail "stderr is not the one line: $(cat "$out/stderr.log")"
grep -q "Stopped: Interrupted by SIG$sig" "$run/report.html" || fail "report.html does not say Stopped"
grep -Eq 'reloads every|http-equiv="refresh"| left at |Running' "$run/report.html" && fail "the stopped page still reloads or counts down"
[ -z "$(find "$out" -name '*.tmp')" ] || fail "temporaries left: $(find "$out" -name '*.tmp')"
cp "$run/report.html" "$out/by_loop.html"
"$make_report" "$run" > /dev/null || fail "make_report"
grep -q "Stopped: Interrupted by SIG$sig" "$run/report.html" || fail "make_report's page does not say Stopped"
# An error line, as record_run_stopped adds it, shown escaped; a log that ends
# with a tick is a run that is not known to have stopped.
echo 'train_stylegan: error: cannot write <x> & y: No space left on device' >> "$run/log.txt"
"$make_report" "$run" > /dev/null || fail "make_report"
grep -q 'Stopped: cannot write &lt;x&gt; &amp; y: No space left on device' "$run/report.html" || fail "error line not shown"
tick=$(grep -h '^tick 0 ' "$run/log.txt")
echo "$tick" >> "$run/log.txt"
"$make_report" "$run" > /dev/null || fail "make_report"
grep -q 'Stopped' "$run/report.html" && fail "a log ending with a tick is shown stopped"
grep -q 'Not finished' "$run/report.html" || fail "not 'Not finished'"
echo "stopped run ($sig): ok"
