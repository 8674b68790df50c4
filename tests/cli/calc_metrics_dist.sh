#!/usr/bin/env bash
# calc_metrics as one process or as 2 ranks (tests/cli/distributed.cmake):
#   calc_metrics_dist.sh HOW OUT RUN CALC_METRICS ARGS...
# copies RUN's network-snapshot-000000.bin and training_options.json into a
# fresh OUT/run (a run folder of its own, so the results append there), runs
#   HOW=one      CALC_METRICS --network OUT/run/network-snapshot-000000.bin ARGS...
#   HOW=env|mpi  the same as 2 ranks (tests/cli/dist_launch.sh HOW 2 ...)
# and prints its output. Then, for each OUT/run/metric-*.jsonl: it must hold
# one line, shown once in the output (rank 0 alone prints and appends), with
# num_gpus 1 (one) or 2; the line less its timing fields (total_time,
# total_time_str, timestamp) and num_gpus goes to OUT/<metric>.line. With
# SAME_AS=DIR, each must equal DIR/<metric>.line byte for byte ("same as one
# process: <metric>"). Exits non-zero at the first failure.
set -u
how=$1 out=$2 run=$3 prog=$4
shift 4
rm -rf "$out" && mkdir -p "$out/run" || exit 1
cp "$run/network-snapshot-000000.bin" "$run/training_options.json" "$out/run/" || exit 1
net=$out/run/network-snapshot-000000.bin
here=$(dirname "$0")
if [[ $how == one ]]; then
  "$prog" --network "$net" "$@" >"$out/output" 2>&1
  rc=$? gpus=1
else
  "$here/dist_launch.sh" "$how" 2 "$prog" --network "$net" "$@" >"$out/output" 2>&1
  rc=$? gpus=2
fi
cat "$out/output"
if [[ $rc -ne 0 ]]; then
  echo "calc_metrics_dist: $how exited with status $rc"
  exit 1
fi
n=0
for f in "$out"/run/metric-*.jsonl; do
  [[ -e $f ]] || break
  m=$(basename "$f" .jsonl)
  m=${m#metric-}
  lines=$(grep -c . "$f")
  shown=$(grep -c "\"metric\": \"$m\"" "$out/output")
  if [[ $lines -ne 1 || $shown -ne 1 ]]; then
    echo "calc_metrics_dist: $m: $lines lines in $f, shown $shown times"
    exit 1
  fi
  grep -q "\"num_gpus\": $gpus," "$f" || { echo "calc_metrics_dist: $m: not num_gpus $gpus: $(cat "$f")"; exit 1; }
  sed -E 's/"total_time": [^,]*, "total_time_str": "[^"]*", //; s/"num_gpus": [0-9]+, //; s/, "timestamp": [0-9.e+-]+//' "$f" >"$out/$m.line"
  if [[ -n ${SAME_AS:-} ]]; then
    cmp "$out/$m.line" "$SAME_AS/$m.line" || { echo "calc_metrics_dist: $m differs: $(cat "$out/$m.line") vs $(cat "$SAME_AS/$m.line")"; exit 1; }
    echo "same as one process: $m: $(cat "$out/$m.line")"
  fi
  n=$((n + 1))
done
echo "calc_metrics_dist: $n metrics, each one line"
