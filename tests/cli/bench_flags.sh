#!/bin/sh
# The benchmarks' numeric flags are read strictly (bench/bench_flags.h), and
# an unknown flag is named: each case must exit 2 with the given first line.
# std::atoi took "4x" as 4, "abc" as 0 (a full benchmark then started) and -1
# as -1 (a negative time came out). check: exit 2 and that one line alone
# (some printed their usage after it). check_start: the given exit status,
# and a first line that starts with the given text.
#   bench_flags.sh BIN_DIR [PYTHON3]
bin=$1
py=${2:-/usr/bin/python3}
bench=$(dirname "$0")/../../bench
fail=0
check_start() {
  want_rc=$1
  want=$2
  shift 2
  out=$("$@" 2>&1 </dev/null)
  rc=$?
  first=$(printf '%s\n' "$out" | head -n 1)
  case $first in
    "$want"*) [ "$rc" -eq "$want_rc" ] && return ;;
  esac
  echo "FAILED: $* -> exit $rc: $first"
  fail=1
}
check() {
  want=$1
  shift
  out=$("$@" 2>&1 </dev/null)
  rc=$?
  first=$(printf '%s\n' "$out" | head -n 1)
  if [ "$rc" -ne 2 ] || [ "$out" != "$want" ]; then
    echo "FAILED: $* -> exit $rc: $first"
    fail=1
  fi
}
check "bench_networks: error: --minibatches expects an integer in [1, 1000000], got '-1'" \
  "$bin/bench_networks" --train tiny --res 16 --minibatches -1
check "bench_networks: error: --res expects an integer in [4, 1024], got 'abc'" "$bin/bench_networks" --res abc
check "bench_networks: error: --batch expects an integer in [1, 65536], got '0'" "$bin/bench_networks" --batch 0
check "bench_networks: error: --channels expects an integer in [1, 3], got '-1'" "$bin/bench_networks" --train tiny --channels -1
check "bench_networks: error: --p expects a number in [0, 1], got '2'" "$bin/bench_networks" --train tiny --p 2
check "bench_networks: error: unknown flag, or a flag without its value: '--bogus' (try --help)" "$bin/bench_networks" --bogus
# Table mode's errors (no such GPU, a batch the networks refuse) are one line
# and exit 1, not "terminate called" (SIGABRT).
check_start 1 "bench_networks: error: device cuda:99: " "$bin/bench_networks" --device cuda:99 --res 32
check_start 1 "bench_networks: error: --batch 5 does not suit auto at 32 px: " "$bin/bench_networks" --batch 5 --res 32 --cpu
check "bench_precision_recall: error: --rows expects an integer in [4, 1000000], got '10x'" \
  "$bin/bench_precision_recall" --rows 10x
check "bench_precision_recall: error: --broadcast-mb expects an integer in [0, 65536], got '-5'" \
  "$bin/bench_precision_recall" --broadcast-mb -5
# bench_dist_cpu.sh checks its numbers before anything runs (they were pasted into python3 -c code).
check "bench_dist_cpu: error: --batch expects a whole number in [2, 65536], got 'abc'" bash "$bench/bench_dist_cpu.sh" --batch abc
check "bench_dist_cpu: error: --batch needs a value" bash "$bench/bench_dist_cpu.sh" --batch
check "bench_dist_cpu: error: --minibatches expects a whole number in [2, 100000] (the first is not reported), got '1'" \
  bash "$bench/bench_dist_cpu.sh" --cfg tiny --batch 4 --minibatches 1
check "bench_inception: error: --batch expects an integer in [1, 4096], got '4x'" "$bin/bench_inception" --batch 4x
check "bench_psp: error: --batch expects an integer in [1, 1024], got 'abc'" "$bin/bench_psp" --batch abc
check "bench_vgg16: error: --lpips-batch expects an integer in [1, 4096], got 'abc'" "$bin/bench_vgg16" --lpips-batch abc
check "bench_parallel_threshold: error: --rounds expects an integer in [1, 1000000], got '0'" \
  "$bin/bench_parallel_threshold" --rounds 0
check "bench_pggan: error: unknown flag '--bogus' (try --help)" "$bin/bench_pggan" --bogus
check "bench_parallel_threshold: error: unknown flag, or a flag without its value: '--rounds' (try --help)" \
  "$bin/bench_parallel_threshold" --rounds
check "bench_image_decode: error: unknown flag '--bogus' (try --help)" "$bin/bench_image_decode" --bogus
# Flag combinations whose one flag the run would leave unread, refused.
check "bench_pggan: error: --full sizes the v2-1gpu training row, which --quick leaves out on the CPU" \
  "$bin/bench_pggan" --cpu --quick --full
check "bench_networks: error: --p is a flag of --train CFG runs (try --help)" "$bin/bench_networks" --cpu --p 0.5
check "bench_networks: error: --aug fixed needs --p" "$bin/bench_networks" --train tiny --res 8 --aug fixed --setup
check "bench_networks: error: --setup is a flag of --train CFG runs (try --help)" "$bin/bench_networks" --setup
check "bench_networks: error: --p and --augpipe set the augmentation, which --aug noaug (the default) leaves out: give \
--aug ada or fixed" "$bin/bench_networks" --train tiny --res 16 --setup --p 0.5
check "bench_augment: --record-draws records the pipe rows' draws, which --part op leaves out" \
  "$bin/bench_augment" --quick --device cpu --part op --record-draws "${TMPDIR:-/tmp}/gf_bench_flags_$$"
# A folder that cannot take the recording is refused before any timing (it
# came after the copy and op rows): the first line is the error.
scratch=$(mktemp -d)
: >"$scratch/file"
check_start 1 "bench_augment: draw log: folder $scratch/file/small_p0: Not a directory" \
  "$bin/bench_augment" --quick --device cpu --cfg small --record-draws "$scratch/file"
mkdir -p "$scratch/rec/small_p1" && : >"$scratch/rec/small_p1/draws-mb000000.bin"
check_start 1 "bench_augment: draw log: $scratch/rec/small_p1 holds draws-mb000000.bin already" \
  "$bin/bench_augment" --quick --device cpu --cfg small --record-draws "$scratch/rec"
[ -e "$scratch/rec/small_p0" ] && { echo "FAILED: bench_augment made small_p0 before refusing"; fail=1; }
# bench_dist_cpu.sh takes BUILD_DIR from the caller's folder (an absolute one was joined to the repository's path).
check_start 1 "bench_dist_cpu: no $scratch/nobuild/bin/train_stylegan (build first)" bash "$bench/bench_dist_cpu.sh" "$scratch/nobuild"
check_start 1 "bench_dist_cpu: no $scratch/nobuild/bin/train_stylegan (build first)" \
  sh -c "cd '$scratch' && bash '$(cd "$bench" && pwd)/bench_dist_cpu.sh' nobuild"
# The PyTorch-side scripts' --json is a file a rename can replace: a link
# (as root, /dev/stdout itself) is refused before anything runs, and
# cpu_vs_pytorch_table.py checks what its rows need first (a loaded row
# without its idle row counted as met; a bad config stopped it when its turn came).
table="$py $bench/cpu_vs_pytorch_table.py --ganforge $bin/bench_networks"
ln -s "$scratch/target.json" "$scratch/link.json"
check "cpu_vs_pytorch_table.py: error: --json $scratch/link.json: is a symbolic link; give the file itself (see --help)" \
  $table --json "$scratch/link.json"
check "torch_vs_ganforge.py: error: --json $scratch/link.json: is a symbolic link; give the file itself (see --help)" \
  "$py" "$bench/torch_vs_ganforge.py" --json "$scratch/link.json"
check "cpu_vs_pytorch_table.py: error: --load-threads 3 has no idle row to compare with: add it to --threads (see --help)" \
  $table --threads 1 --load-threads 3
check "cpu_vs_pytorch_table.py: error: --cfgs bogus: bench_networks: error: config: unknown --cfg 'bogus' (one of \
auto, stylegan2, paper256, paper512, paper1024, cifar, small, tiny) (see --help)" $table --cfgs tiny,bogus
[ -e "$scratch/target.json" ] && { echo "FAILED: a refused --json was written"; fail=1; }
rm -rf "$scratch"
check "profile_step: error: --res expects an integer in [4, 1024], got '1073741824'" "$bin/profile_step" --res 1073741824
check "profile_step: error: unknown flag, or a flag without its value: 'extra' (try --help)" "$bin/profile_step" extra
check "profile_step: error: unknown flag, or a flag without its value: '--cfg' (try --help)" "$bin/profile_step" --cfg
# Every benchmark answers --help with its usage on stdout and exit 0 (four said "unknown flag").
for b in profile_step bench_networks bench_allreduce bench_parallel_threshold bench_pggan bench_augment bench_gan_ops_a \
    bench_gan_ops_b bench_inception bench_modulated_conv2d bench_vgg16 bench_primitives bench_cpu_simd bench_psp \
    bench_precision_recall bench_pggan_metrics bench_linear_separability; do
  "$bin/$b" --help 2>/dev/null | grep -q "^usage: $b" || { echo "FAILED: $b --help"; fail=1; }
done
check "bench_allreduce: error: unknown flag '--bogus' (try --help)" "$bin/bench_allreduce" --bogus
check "bench_pggan_metrics: unknown argument '--bogus' (try --help)" "$bin/bench_pggan_metrics" --bogus
check "numpy_pggan_metrics.py: error: argument --threads: expects an integer in [1, 4096], got '0' (see --help)" \
  "$py" "$bench/numpy_pggan_metrics.py" --threads 0
check "bench_linear_separability: unknown argument '--bogus' (try --help)" "$bin/bench_linear_separability" --bogus
check "sklearn_linear_separability.py: error: argument --samples: expects an integer in [1, 1000], got '0' (see --help)" \
  "$py" "$bench/sklearn_linear_separability.py" --samples 0
[ "$fail" -eq 0 ] && echo "bench flags refused"
