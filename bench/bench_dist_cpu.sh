#!/usr/bin/env bash
# bench_dist_cpu.sh: time per minibatch of one-process-per-device training on
# the CPU, the same minibatch (cfg, batch) run as
#   1 process (--gpus 1), 2 in-process replicas (--gpus 2), mpirun -np 2,
#   and 2 processes by the torchrun-style environment (TCP),
# each process with OMP_NUM_THREADS=T (default: cores / 2, so 2 ranks fill the
# machine as 1 process with 2T threads would not). Prints the median wall
# seconds per minibatch over the ticks after the first (one minibatch a tick)
# and the process CPU seconds per minibatch. On a machine others load, the
# absolute times mean little: compare runs made back to back, and repeat.
#   bench/bench_dist_cpu.sh [BUILD_DIR] [--cfg small] [--batch 8] [--minibatches 12]
# BUILD_DIR (default: the repository's build/) is taken from the folder it is
# run in; it was joined to the repository's path, which broke an absolute one.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$REPO/build
CFG=small BATCH=8 MB=12
die() { echo "bench_dist_cpu: error: $*" >&2; exit 2; }
# A whole number in [lo, hi], checked here: the values become train_stylegan's
# flags and the kimg arithmetic below, never code.
whole() {  # flag value lo hi [why]
  [[ $2 =~ ^[0-9]{1,9}$ ]] && (( 10#$2 >= $3 && 10#$2 <= $4 )) ||
    die "$1 expects a whole number in [$3, $4]${5:+ ($5)}, got '$2'"
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --cfg|--batch|--minibatches) [[ $# -ge 2 ]] || die "$1 needs a value" ;;&
    --cfg) CFG=$2; shift ;;
    --batch) whole --batch "$2" 2 65536; BATCH=$((10#$2)); shift ;;
    # The report skips the first tick (one minibatch a tick): 2 leave one to report.
    --minibatches) whole --minibatches "$2" 2 100000 "the first is not reported"; MB=$((10#$2)); shift ;;
    -*) die "unknown option $1" ;;
    *) BUILD=$(realpath -m -- "$1") ;;  # absolute, or relative to the caller's folder
  esac
  shift
done
# The 2-process runs split the batch in two.
(( BATCH % 2 == 0 )) || die "--batch must be even (2 replicas share it), got $BATCH"
cd "$REPO"
BIN=$BUILD/bin/train_stylegan
[[ -x $BIN ]] || { echo "bench_dist_cpu: no $BIN (build first)" >&2; exit 1; }
T=${OMP_NUM_THREADS:-$(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 ))}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
kimg_of() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }  # images -> thousands, exactly
kimg=$(kimg_of $((BATCH * MB)))
tick=$(kimg_of "$BATCH")
flags=(--cfg "$CFG" --batch "$BATCH" --kimg "$kimg" --tick "$tick" --snap 0 --max-images 256)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none

# Median seconds per minibatch in stats.jsonl (ticks after the first), and CPU seconds per minibatch.
report() {  # name run_dir cpu_seconds
  /usr/bin/python3 - "$1" "$2" "$3" "$MB" <<'EOF'
import json, glob, statistics, sys
name, run, cpu, mb = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
f = glob.glob(run + "/*/stats.jsonl")[0]
ticks = [json.loads(l) for l in open(f)][1:]
print(f"{name:28s} {statistics.median(t['sec_per_tick'] for t in ticks):8.3f} s/minibatch wall   {cpu / mb:8.3f} s/minibatch CPU (all processes)")
EOF
}
cpu_of() {  # command...: runs it, prints the CPU seconds of it and its children
  local t0 t1 me=$BASHPID  # this subshell: its waited-for children's CPU time grows
  t0=$(awk '{print $16 + $17}' /proc/$me/stat)
  "$@" >"$OUT/log" 2>&1 || { cat "$OUT/log" >&2; exit 1; }
  t1=$(awk '{print $16 + $17}' /proc/$me/stat)
  awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", (b - a) / hz }'
}

echo "cfg $CFG, batch $BATCH, $MB minibatches, OMP_NUM_THREADS=$T per process, $(nproc) cores"
c=$(OMP_NUM_THREADS=$((2 * T)) cpu_of "$BIN" "${flags[@]}" --outdir "$OUT/one")
report "1 process, $((2 * T)) threads" "$OUT/one" "$c"
c=$(OMP_NUM_THREADS=$T cpu_of "$BIN" "${flags[@]}" --outdir "$OUT/one_t")
report "1 process, $T threads" "$OUT/one_t" "$c"
c=$(OMP_NUM_THREADS=$T cpu_of "$BIN" "${flags[@]}" --gpus 2 --outdir "$OUT/inproc")
report "--gpus 2 (in-process)" "$OUT/inproc" "$c"
if command -v mpirun >/dev/null; then
  c=$(cpu_of mpirun --oversubscribe --bind-to none -x OMP_NUM_THREADS=$T -np 2 "$BIN" "${flags[@]}" --outdir "$OUT/mpi")
  report "mpirun -np 2" "$OUT/mpi" "$c"
fi
c=$(OMP_NUM_THREADS=$T cpu_of tests/cli/dist_launch.sh env 2 "$BIN" "${flags[@]}" --outdir "$OUT/env")
report "2 processes by env (TCP)" "$OUT/env" "$c"
