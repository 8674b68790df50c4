#!/usr/bin/env bash
# gpu_check.sh: the first thing to run on a lent GPU machine (one H200 with the
# CUDA 13 toolkit, CMake, ninja and PyTorch, but no network and none of the
# Debian -dev packages the build needs). It builds ganforge for sm_90 with every
# core, runs the CUDA tests (cuda.test_dist among them: NCCL as one rank; it
# requires NCCL, so a build that found none fails it: the configure row says
# "no NCCL"), trains for a minute on the GPU and checks the generator's images
# against the CPU's, and times the kernels and a paper256 minibatch (beside
# PyTorch's, when bench/torch_vs_ganforge.py is in the tree).
#
#   scripts/gpu_check.sh --fetch       HERE, with network: downloads the .debs and a small
#                                      dataset into deps/ (ignored by git, about 17 MB)
#   scripts/gpu_check.sh --check-deps  whether deps/ holds every .deb of the current lists
#   scripts/gpu_check.sh               THERE: carry deps/; stops starting steps at the budget
#   scripts/gpu_check.sh --dry-run     every step that needs no GPU (unpack, configure,
#                                      build for sm_90, CPU smoke test); see gpu_check_dryrun.sh
#   options: --steps a,b,c  run only these steps (after env/deps/configure/build, which always run)
#            --budget SEC   stop starting steps once SEC seconds have passed (default 450;
#                           --dry-run: 7200); a step never runs past the budget either, and
#                           one left under 30 s (or under its timeout, if shorter) is not run
#
# Steps, in order: env deps configure build ctest_cuda train_cuda generate_compare
# bench_networks torch_vs_ganforge bench_primitives bench_gan_ops_a bench_gan_ops_b
# bench_modulated_conv2d bench_augment bench_inception bench_allreduce cpu_smoke
# (bench_allreduce: NCCL's gradient all-reduce as 1 rank: its bus bandwidth needs
# 2 GPUs or more). Each step has its own timeout; the timeouts add up to more
# than the default budget, so on a slow build the last steps are recorded as
# "not run: out of budget" (skipped, not failed). env, deps, configure and build
# are a chain: once one is not ok, the rest are recorded as not run. Any other
# failing step is recorded and the next one runs.
# Logs and the summary table go to $OUT (default build/gpu_check_out): at most
# 8 files, so the device tool brings them all back; the table is printed last.
# Nothing here changes the GPU's settings: nvidia-smi is only queried.
# Exit status: 0 when no step failed or timed out and the build chain ran, 1
# otherwise, 2 on bad usage.
set -uo pipefail  # no -e: one step's failure must not end the run

cd "$(dirname "$0")/.." || exit 2
REPO=$PWD
DEPS=$REPO/deps
# What the build needs beyond the toolkit. DEB_FALLBACK: the run-time needs of
# OpenBLAS (libgfortran5, libquadmath0, libgomp1), of libtiff (libdeflate0 to
# liblerc4), of OpenJPEG (libopenjp2-7), of the zip decoders (libbz2-1.0,
# liblzma5) and of liblinear (libblas.so.3: OpenBLAS's, from
# libopenblas0-openmp, which Debian's alternatives would name):
# used only where the machine lacks them.
DEB_PKGS=(catch2 nlohmann-json3-dev libstb-dev libstb0 libwebp-dev libwebp7 libwebpdemux2 libwebpmux3 liblmdb-dev liblmdb0 liblinear-dev liblinear4 libtiff-dev libtiff6 libjpeg62-turbo-dev libjpeg62-turbo libpng-dev libpng16-16 libopenjp2-7-dev libopenjp2-7 libbz2-dev liblzma-dev zlib1g-dev libopenblas0-openmp libopenblas-openmp-dev)
DEB_FALLBACK=(libgfortran5 libquadmath0 libgomp1 libdeflate0 libjbig0 libjpeg62-turbo libopenjp2-7 liblerc4 libbz2-1.0 liblzma5 libopenblas0-openmp)
export DEB_PKG_NAMES="${DEB_PKGS[*]}" DEB_FALLBACK_NAMES="${DEB_FALLBACK[*]}"  # for the steps, which run in child shells (arrays are not exported)
export FALLBACK_SONAMES="libgfortran.so.5 libquadmath.so.0 libgomp.so.1 libdeflate.so.0 libjbig.so.0 libjpeg.so.62 libopenjp2.so.7 libLerc.so.4 libbz2.so.1.0 liblzma.so.5 libblas.so.3"
DATA_ZIP=$DEPS/data/fashion-mnist-2k.zip

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

# What deps/ lacks of the current lists (fallbacks too) and the dataset: a
# deps/ fetched before a package joined a list is refused at once, not found
# out as a failed configure after minutes of device time. Echoes the missing
# names; fails when there are any. Names as --fetch renames the files.
deps_missing() {
  local p missing=()
  for p in $DEB_PKG_NAMES; do
    compgen -G "$DEPS/debs/${p//[^A-Za-z0-9._-]/_}_*.deb" >/dev/null || missing+=("$p")
  done
  for p in $DEB_FALLBACK_NAMES; do
    compgen -G "$DEPS/debs/fallback/${p//[^A-Za-z0-9._-]/_}_*.deb" >/dev/null || missing+=("fallback/$p")
  done
  [[ -f $DATA_ZIP ]] || missing+=("data/${DATA_ZIP##*/}")
  echo "${missing[*]}"
  ((${#missing[@]} == 0))
}
export -f deps_missing

# ---------------------------------------------------------------- --fetch (here)
fetch() {
  command -v apt-get >/dev/null || { echo "gpu_check: --fetch needs apt-get (Debian)" >&2; return 1; }
  local arch
  arch=$(dpkg --print-architecture)
  [[ $arch == amd64 ]] || { echo "gpu_check: --fetch must run on amd64 (the GPU machine is x86-64), not $arch" >&2; return 1; }
  # prefix/ and fallback*/: where older versions unpacked, which made deps/ too big to carry.
  rm -rf "$DEPS/debs" "$DEPS/prefix" "$DEPS/fallback" "$DEPS/fallback-lib" &&
    mkdir -p "$DEPS/debs/fallback" "$DEPS/data" || return 1
  local d
  for d in "$DEPS/debs" "$DEPS/debs/fallback"; do
    local pkgs=("${DEB_PKGS[@]}")
    [[ $d == */fallback ]] && pkgs=("${DEB_FALLBACK[@]}")
    # As root, apt's download sandbox user cannot write here: download as root.
    (cd "$d" && { apt-get -q -o APT::Sandbox::User=root download "${pkgs[@]}" ||
                  { apt-get -q update && apt-get -q -o APT::Sandbox::User=root download "${pkgs[@]}"; }; }) || {
      echo "gpu_check: apt-get download failed" >&2
      return 1
    }
  done
  # Plain names ('~' and '+' out): they travel and unpack the same.
  local f
  for f in "$DEPS"/debs/*.deb "$DEPS"/debs/fallback/*.deb; do
    local safe
    safe=$(dirname "$f")/$(basename "$f" | tr -c 'A-Za-z0-9._\n-' '_')
    [[ $f == "$safe" ]] || mv "$f" "$safe"
  done
  python3 scripts/fashion_mnist_zip.py "$DATA_ZIP" --count 2048 || return 1
  echo "gpu_check: deps/ ready ($(du -sh "$DEPS" | cut -f1)); carry it: carry [\"deps\"]"
}

# ---------------------------------------------------------------- options
MODE=run
STEPS_ONLY=""
BUDGET=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --fetch) MODE=fetch ;;
    --check-deps) MODE=check ;;
    --dry-run) MODE=dry ;;
    --steps|--budget)  # a missing value is bad usage (2), in one line, not bash's ${2:?} text and 1
      [[ $# -ge 2 && -n $2 ]] || { echo "gpu_check: $1 needs a value (see --help)" >&2; exit 2; }
      if [[ $1 == --steps ]]; then STEPS_ONLY=$2; else BUDGET=$2; fi
      shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu_check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ $MODE == fetch ]]; then fetch; exit $?; fi
if [[ $MODE == check ]]; then
  if lacking=$(deps_missing); then echo "gpu_check: deps/ complete"; exit 0; fi
  echo "gpu_check: deps/ lacks $lacking: re-run scripts/gpu_check.sh --fetch" >&2
  exit 1
fi
ALL_STEPS=" env deps configure build ctest_cuda train_cuda generate_compare bench_networks torch_vs_ganforge
  bench_primitives bench_gan_ops_a bench_gan_ops_b bench_modulated_conv2d bench_augment bench_inception bench_allreduce cpu_smoke "
# Split without globbing, and match one whole name literally: 'c*' is no step.
IFS=, read -ra steps_only <<<"$STEPS_ONLY"
for s in "${steps_only[@]}"; do
  [[ $s =~ ^[a-z0-9_]+$ && $ALL_STEPS == *[[:space:]]"$s"[[:space:]]* ]] || { echo "gpu_check: no step '$s' (see --help)" >&2; exit 2; }
done
DRY=0
[[ $MODE == dry ]] && DRY=1
[[ -n $BUDGET ]] || BUDGET=$((DRY ? 7200 : 450))
[[ $BUDGET =~ ^[0-9]+$ ]] || { echo "gpu_check: --budget takes whole seconds, got '$BUDGET'" >&2; exit 2; }

OUT=${OUT:-$REPO/build/gpu_check_out}
BUILD=${GPU_CHECK_BUILD_DIR:-$REPO/build}
WORK=$BUILD/gpu_check_work
# The .debs unpack here, not in deps/: deps/ travels (carry), and unpacked it
# would pass the 64 MiB a call may carry; the build folder stays behind.
UNPACK=$WORK/deps
JOBS=${GPU_CHECK_JOBS:-$(nproc 2>/dev/null || echo 4)}
mkdir -p "$OUT" "$WORK" || exit 1
export REPO DEPS OUT BUILD WORK UNPACK JOBS DRY DATA_ZIP PYTHONUNBUFFERED=1
START=$SECONDS
DEADLINE=$((START + BUDGET))

# ---------------------------------------------------------------- step runner
# A step is a function run as `bash -c` under `timeout` (which signals the
# whole process group), appending to one of the few log files in $OUT. It
# writes its key figure to $FIG, and exits 0 (ok), 75 (skipped: the reason is
# the figure) or anything else (failed); 124/137 is a timeout.
NAMES=() STATUS=() FIGS=() SECS=()
record() { NAMES+=("$1"); STATUS+=("$2"); FIGS+=("$3"); SECS+=("$4"); }
chain_step() { [[ $1 == env || $1 == deps || $1 == configure || $1 == build ]]; }
wanted() {
  if [[ -z $STEPS_ONLY ]] || chain_step "$1"; then return 0; fi
  [[ ",$STEPS_ONLY," == *",$1,"* ]]
}
BROKEN=""  # the chain step that was not ok: every later step needs it
MIN_STEP_S=30  # a step given less would only time out: not run, and not a failure
run_step() {  # name timeout_s log_file function [needs_gpu]
  local name=$1 limit=$2 log=$OUT/$3 fn=$4 gpu=${5:-}
  wanted "$name" || return 0
  if [[ -n $BROKEN ]]; then
    record "$name" skipped "not run: $BROKEN" 0
    return 0
  fi
  if [[ -n $gpu && $DRY == 1 ]]; then
    record "$name" skipped "dry run: needs the GPU" 0
    return 0
  fi
  local left=$((DEADLINE - SECONDS)) least=$((limit < MIN_STEP_S ? limit : MIN_STEP_S))
  if ((left < least)); then
    record "$name" skipped "not run: out of budget ($((left > 0 ? left : 0)) s of --budget $BUDGET left)" 0
    chain_step "$name" && BROKEN="$name not run (out of budget)"
    return 0
  fi
  ((limit > left)) && limit=$left
  export FIG=$WORK/figure.$name
  : >"$FIG"
  printf '\n==== %s (timeout %d s, at %d s) ====\n' "$name" "$limit" "$((SECONDS - START))" >>"$log"
  printf '[%4d s] %-22s ... ' "$((SECONDS - START))" "$name"
  local t0=$SECONDS rc
  timeout --kill-after=10 "$limit" bash -c "$fn" >>"$log" 2>&1
  rc=$?
  local took=$((SECONDS - t0)) fig status
  fig=$(head -c 300 "$FIG" | tr '\n' ' ' | sed 's/ *$//')
  case $rc in
    0) status=ok ;;
    75) status=skipped ;;
    124|137) status=timeout; fig="stopped after $limit s${fig:+; $fig}" ;;
    *) status=FAILED; fig="exit $rc${fig:+; $fig}" ;;
  esac
  printf '%s (%d s)\n' "$status" "$took"
  printf '==== %s: %s in %d s: %s\n' "$name" "$status" "$took" "$fig" >>"$log"
  record "$name" "$status" "$fig" "$took"
  if chain_step "$name" && [[ $status != ok ]]; then BROKEN="$name $status"; fi
}
fig() { echo "$*" >"$FIG"; }
export -f fig

# ---------------------------------------------------------------- the steps
step_env() {
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')  host: $(uname -srm)  cores: $(nproc)  mode: $([[ $DRY == 1 ]] && echo dry-run || echo gpu)"
  grep -m1 PRETTY_NAME /etc/os-release 2>/dev/null
  local gpu=""
  if command -v nvidia-smi >/dev/null; then
    # Queries only: never a setting (no -pm, -pl, -ac, -lgc, -r, -c, -mig).
    gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.sm,clocks.max.sm --format=csv,noheader 2>&1 | head -n1)
    nvidia-smi 2>&1 | head -n 20
  fi
  echo "gpu: ${gpu:-none (no nvidia-smi)}"
  echo "nvcc: $( (command -v nvcc || ls /usr/local/cuda/bin/nvcc) 2>/dev/null | head -n1) $( (nvcc --version || /usr/local/cuda/bin/nvcc --version) 2>/dev/null | grep -o 'release [0-9.]*')"
  echo "cmake: $(command -v cmake) $(cmake --version 2>/dev/null | head -n1)"
  echo "ninja: $(command -v ninja) $(ninja --version 2>/dev/null)"
  echo "c++: $(command -v c++ g++ | head -n1) $(c++ --version 2>/dev/null | head -n1)"
  echo "python3: $(command -v python3) $(python3 --version 2>&1)"
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available() and torch.cuda.get_device_name(0))' 2>&1 | tail -n1
  if [[ $DRY == 1 ]]; then
    fig "dry run, no GPU; $(nproc) cores"
  elif [[ -n $gpu && $gpu != *"failed"* && $gpu != *"NVIDIA-SMI has"* && $gpu != *"No devices"* ]]; then
    fig "$gpu"
  else
    fig "no GPU found: ${gpu:-no nvidia-smi}"
    return 1
  fi
}

# The .debs unpacked with dpkg -x (ar + tar where there is no dpkg) into
# $UNPACK/prefix, which CMAKE_PREFIX_PATH names; the run-time needs of OpenBLAS
# and libtiff that the machine lacks are linked into $UNPACK/fallback-lib,
# which LD_LIBRARY_PATH names.
step_deps() {
  local debs=("$DEPS"/debs/*.deb) missing
  if ! missing=$(deps_missing); then
    fig "deps/ incomplete (no $missing): re-run scripts/gpu_check.sh --fetch where there is network, and carry deps"
    return 1
  fi
  rm -rf "$UNPACK"
  mkdir -p "$UNPACK/prefix" "$UNPACK/fallback" "$UNPACK/fallback-lib"
  unpack() {  # deb dest
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$1" "$2"
    else
      # No dpkg: a .deb is an ar archive whose data.tar.* holds the files.
      local member tmp rc
      member=$(ar t "$1" | grep -m1 '^data\.tar') || return 1
      tmp=$(mktemp -d)
      (cd "$tmp" && ar x "$1" "$member") && tar -xf "$tmp/$member" -C "$2"
      rc=$?
      rm -rf "$tmp"
      return $rc
    fi
  }
  local f n=0
  for f in "${debs[@]}"; do echo "unpack $(basename "$f")"; unpack "$f" "$UNPACK/prefix" || return 1; n=$((n + 1)); done
  for f in "$DEPS"/debs/fallback/*.deb; do [[ -e $f ]] && { unpack "$f" "$UNPACK/fallback" || return 1; }; done
  local so used=()
  for so in $FALLBACK_SONAMES; do
    if ldconfig -p 2>/dev/null | grep -q "^[[:space:]]*$so "; then
      echo "$so: the machine's own"
    else
      local got
      got=$(find "$UNPACK/fallback" -name "$so" | head -n1)
      [[ -n $got ]] || { fig "$so missing here and not in deps/debs/fallback"; return 1; }
      ln -sf "$got" "$UNPACK/fallback-lib/$so"
      used+=("$so")
      echo "$so: carried ($got)"
    fi
  done
  fig "$n debs unpacked; carried run-time libs: ${used[*]:-none needed}"
}

step_configure() {
  local gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  # A build folder from another generator cannot switch: start it afresh.
  # So does one whose cached paths point into another prefix (deps/prefix, before).
  if [[ -f $BUILD/CMakeCache.txt ]] && { ! grep -q "CMAKE_HOME_DIRECTORY:INTERNAL=$REPO\$" "$BUILD/CMakeCache.txt" ||
       ! grep -qx "CMAKE_PREFIX_PATH:[A-Z]*=$UNPACK/prefix/usr" "$BUILD/CMakeCache.txt"; }; then
    rm -rf "$BUILD/CMakeCache.txt" "$BUILD/CMakeFiles"
  fi
  if [[ -f $BUILD/CMakeCache.txt ]] && { [[ -n ${gen[*]} ]] && ! grep -q "CMAKE_GENERATOR:INTERNAL=Ninja" "$BUILD/CMakeCache.txt"; }; then
    rm -rf "$BUILD/CMakeCache.txt" "$BUILD/CMakeFiles"
  fi
  set -x
  cmake -S "$REPO" -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 -DGF_CUDA=ON \
    -DCMAKE_PREFIX_PATH="$UNPACK/prefix/usr" -U OPENBLAS_LIBRARY -U CBLAS_INCLUDE_DIR -U CUDNN_LIBRARY -U CUDNN_INCLUDE_DIR \
    2>&1 | tee "$WORK/configure.txt"
  local rc=${PIPESTATUS[0]}
  { set +x; } 2>/dev/null
  ((rc == 0)) || { fig "$(grep -m1 -A2 'CMake Error' "$WORK/configure.txt" | tr -s ' ' | paste -sd' ' | cut -c1-240)"; return 1; }
  # The whole point is the CUDA build: without nvcc or cuDNN this run is void.
  local line
  line=$(grep -o 'ganforge: CUDA .*' "$WORK/configure.txt" | tail -n1)
  [[ -n $line ]] || { fig "configured without CUDA: $(grep -o 'ganforge: .*' "$WORK/configure.txt" | tail -n1)"; return 1; }
  fig "${line#ganforge: }"
}

step_build() {
  cmake --build "$BUILD" -j "$JOBS" 2>&1 | tee "$WORK/build.txt"
  local rc=${PIPESTATUS[0]}
  if ((rc != 0)); then
    fig "$(grep -m1 -E 'error:|FAILED|Error' "$WORK/build.txt" | cut -c1-200)"
    return 1
  fi
  fig "sm_90, -j $JOBS, $(ls "$BUILD/bin" | wc -l) programs"
}

# No GPU needed: the carried OpenBLAS, stb and Catch2 work at run time, and the
# carried dataset trains (a few CPU minibatches of the tiny config).
step_cpu_smoke() {
  (cd "$BUILD" && ctest -L cpu -R '^cpu\.test_(tensor|matmul|conv|dataset)$' --output-on-failure -j "$JOBS") || {
    fig "CPU tests failed"
    return 1
  }
  rm -rf "$WORK/cpu_runs"
  OMP_NUM_THREADS=$JOBS "$BUILD/bin/train_stylegan" --device cpu --cfg tiny --data "$DATA_ZIP" --kimg 0.016 --tick 0.008 \
    --snap 1 --outdir "$WORK/cpu_runs" || { fig "CPU training failed"; return 1; }
  fig "4 CPU test files pass; tiny CPU training on the carried data ran"
}

step_ctest_cuda() {
  (cd "$BUILD" && ctest -L cuda --output-on-failure -j 8 --timeout 150) | tee "$WORK/ctest_cuda.txt"
  local rc=${PIPESTATUS[0]}
  local summary skipped
  summary=$(grep -E 'tests passed|tests failed' "$WORK/ctest_cuda.txt" | tail -n1)
  skipped=$(grep -c '(Skipped)' "$WORK/ctest_cuda.txt")
  # On a GPU a skipped [cuda] test means it found no device: a failure here.
  fig "$summary; $skipped skipped$( ((skipped > 0)) && echo " (they saw no GPU)")"
  ((rc == 0 && skipped == 0))
}

latest_snapshot() { ls -t "$WORK"/cuda_runs/*/network-snapshot-*.bin 2>/dev/null | head -n1; }
export -f latest_snapshot

# A bounded CUDA training run of the small config on the carried data:
# --kimg bounds it; a snapshot every tick means a stop at the timeout still
# leaves the generate step a snapshot.
step_train_cuda() {
  rm -rf "$WORK/cuda_runs"
  "$BUILD/bin/train_stylegan" --device cuda --cfg "${GPU_CHECK_TRAIN_CFG:-small}" --data "$DATA_ZIP" \
    --kimg "${GPU_CHECK_TRAIN_KIMG:-20}" --tick 1 --snap 1 --outdir "$WORK/cuda_runs"
  local rc=$?
  local log last
  log=$(ls "$WORK"/cuda_runs/*/log.txt 2>/dev/null | head -n1)
  last=$(grep '^tick' "$log" 2>/dev/null | tail -n1)
  # train_fakes.png: copied by the run, after the step, even when it timed out.
  if grep -qiE '[ -](nan|inf)( |$)' "$log" 2>/dev/null; then fig "non-finite loss: $last"; return 1; fi
  fig "$(echo "$last" | awk '{for (i = 1; i < NF; i++) if ($i == "kimg" || $i == "sec/kimg" || $i == "maxmem" || $i == "G") printf "%s %s  ", $i, $(i + 1)}')"
  return $rc
}

# The CUDA run's last snapshot through generate on the GPU and on the CPU:
# same seeds, const noise, the float images compared (rel. L2 <= 1e-3).
step_generate_compare() {
  local snap
  snap=$(latest_snapshot)
  [[ -n $snap ]] || { fig "no snapshot from train_cuda"; return 1; }
  echo "snapshot: $snap"
  local d
  for d in cuda cpu; do
    "$BUILD/bin/generate" --network "$snap" --device "$d" --seeds 0-15 --trunc 1 --noise-mode const --grid 4x4 \
      --raw "$WORK/gen_$d.npy" --outdir "$WORK/gen_$d" || { fig "generate --device $d failed"; return 1; }
  done
  cp "$WORK/gen_cuda/grid.png" "$OUT/generate_cuda.png"
  local line rc
  line=$(python3 "$REPO/scripts/compare_npy.py" "$WORK/gen_cuda.npy" "$WORK/gen_cpu.npy" --rel-tol 1e-3)
  rc=$?
  echo "$line"
  fig "cuda vs cpu, 16 seeds of $(basename "$snap"): $line"
  return $rc
}

# Full sizes on the GPU (--quick would shrink them to a 1024^3 matmul): 17
# matmuls of 4096^3 and convs of 309 GFLOP are well under a second on an H200;
# --device cuda runs no CPU part.
step_bench_primitives() { bench_run bench_primitives --device cuda; }
step_bench_gan_ops_a() { bench_run bench_gan_ops_a --quick; }
step_bench_gan_ops_b() { bench_run bench_gan_ops_b --quick; }
step_bench_modulated_conv2d() { bench_run bench_modulated_conv2d --quick; }
# ADA's grid sampling and AugmentPipe 'bgc': the GPU part only (the CPU part is bench/RESULTS.md's).
step_bench_augment() { bench_run bench_augment --device cuda --quick; }
# The FID/IS detector at the metrics' batch of 64: images per second, which
# sets how long a fid50k_full takes (50k generated images, plus the dataset once).
step_bench_inception() {
  "$BUILD/bin/bench_inception" --device cuda --batch 64 | tee "$WORK/bench_inception.txt"
  local rc=${PIPESTATUS[0]}
  fig "$(grep -m1 'features' "$WORK/bench_inception.txt" | tr -s ' ' | cut -c1-120)"
  return "$rc"
}
bench_run() {
  local prog=$1
  shift
  "$BUILD/bin/$prog" "$@" | tee "$WORK/$prog.txt"
  local rc=${PIPESTATUS[0]}
  # The key figure: the GPU part's first lines (the table is in bench.log).
  # The op benchmarks time the GPU only when they find one: no GPU part fails.
  grep -q '^cuda' "$WORK/$prog.txt" || { fig "no cuda:0 part in the output"; return 1; }
  fig "$(awk '/^cuda/ {on = 1} on && NF > 3 {print; n++} n >= 2 {exit}' "$WORK/$prog.txt" | tr -s ' ' | cut -c1-140 | paste -sd'|')"
  return "$rc"
}
export -f bench_run

step_bench_networks() {
  "$BUILD/bin/bench_networks" --res 256 | tee "$WORK/bench_networks.txt"
  local rc=${PIPESTATUS[0]}
  local row
  row=$(awk '$1 == 256' "$WORK/bench_networks.txt")
  [[ -n $row ]] || { fig "no paper256 row"; return 1; }
  # Columns: res cfg batch pass, 5 times, lazy step (10), sec/kimg (11), GFLOP, TFLOP/s (13), of GEMM (14).
  local gemm
  gemm=$(grep -o 'GEMM reference: .*TFLOP/s' "$WORK/bench_networks.txt")
  fig "paper256 batch $(echo "$row" | awk '{print $3 " (" $4 " per pass)"}'): $(echo "$row" | awk '{print $11}')" \
    "sec/kimg, lazy step $(echo "$row" | awk '{print $10}') ms, $(echo "$row" | awk '{print $13 " TFLOP/s, " $14}')" \
    "of GEMM ($gemm)"
  return "$rc"
}

step_torch_vs_ganforge() {
  if [[ ! -f $REPO/bench/torch_vs_ganforge.py ]]; then
    fig "skipped: bench/torch_vs_ganforge.py not present"
    return 75
  fi
  # Few minibatches per round: the run must fit the budget beside the rest.
  python3 "$REPO/bench/torch_vs_ganforge.py" --cfg paper256 --device cuda --minibatches 4 --ganforge "$BUILD/bin/bench_networks" \
    --json "$OUT/torch_vs_ganforge.json" | tee "$WORK/torch.txt"
  local rc=${PIPESTATUS[0]}
  local line
  line=$(grep -iE '^median|ratio' "$WORK/torch.txt" | tail -n1)
  [[ -n $line ]] || line=$(grep -i 'sec/kimg' "$WORK/torch.txt" | tail -n1)
  fig "$(echo "$line" | tr -s ' ' | cut -c1-220)"
  return "$rc"
}

# The gradient all-reduce per phase (bench/bench_allreduce.cpp) as 1 rank on
# the one GPU: NCCL's launch cost at the flat-buffer sizes (busbw is 0 with 1
# rank by nccl-tests' definition; more GPUs: mpirun -np N). A build without
# NCCL says so: skipped.
step_bench_allreduce() {
  "$BUILD/bin/bench_allreduce" --quick | tee "$WORK/bench_allreduce.txt"
  local rc=${PIPESTATUS[0]}
  if grep -q 'skipped' "$WORK/bench_allreduce.txt"; then
    fig "$(grep -m1 skipped "$WORK/bench_allreduce.txt")"
    return 75
  fi
  local row
  row=$(grep -m1 '^paper256.* G ' "$WORK/bench_allreduce.txt")
  [[ -n $row ]] || { fig "no paper256 G row"; return 1; }
  fig "1 rank, paper256 G $(echo "$row" | awk '{print $(NF-4) " MB: nccl " $(NF-3) " ms, trainer " $NF " ms"}')"
  return "$rc"
}

export -f step_env step_deps step_configure step_build step_cpu_smoke step_ctest_cuda step_train_cuda \
  step_generate_compare step_bench_primitives step_bench_gan_ops_a step_bench_gan_ops_b \
  step_bench_modulated_conv2d step_bench_augment step_bench_inception step_bench_networks step_torch_vs_ganforge step_bench_allreduce

# ---------------------------------------------------------------- the run
rm -f "$OUT"/*.log "$OUT"/summary.txt "$OUT"/*.png "$OUT"/*.json
echo "gpu_check: $([[ $DRY == 1 ]] && echo "dry run (no GPU steps)" || echo "GPU run") in $REPO, budget ${BUDGET} s, logs in $OUT"
gpu_line=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -n1)
echo "gpu: ${gpu_line:-none (no nvidia-smi)}"

run_step env 30 summary.txt step_env
run_step deps 60 build.log step_deps
# What the programs need at run time: the carried fallbacks, and the folder of
# the cuDNN that was found (its sub-libraries are opened by name).
LD_EXTRA=""
[[ -n $(ls -A "$UNPACK/fallback-lib" 2>/dev/null) ]] && LD_EXTRA=$UNPACK/fallback-lib
run_step configure $((DRY ? 900 : 120)) build.log step_configure
cudnn_lib=$(grep -o 'CUDNN_LIBRARY:FILEPATH=.*' "$BUILD/CMakeCache.txt" 2>/dev/null | cut -d= -f2)
[[ -n $cudnn_lib ]] && LD_EXTRA=${LD_EXTRA:+$LD_EXTRA:}$(dirname "$cudnn_lib")
[[ -n $LD_EXTRA ]] && export LD_LIBRARY_PATH=$LD_EXTRA${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}" >>"$OUT/build.log"
run_step build $((DRY ? 5400 : 270)) build.log step_build
if [[ -n $BROKEN ]]; then
  echo "gpu_check: $BROKEN: the remaining steps need it, not run"
else
  run_step ctest_cuda 120 tests.log step_ctest_cuda gpu
  run_step train_cuda 75 train.log step_train_cuda gpu
  # Here, not in the step: a timeout kills the step's shell before its end.
  if [[ ${NAMES[-1]} == train_cuda && ${STATUS[-1]} != skipped ]]; then
    fake=$(ls -t "$WORK"/cuda_runs/*/fakes*.png 2>/dev/null | head -n1)
    [[ -n $fake ]] && cp "$fake" "$OUT/train_fakes.png"
  fi
  run_step generate_compare 45 train.log step_generate_compare gpu
  run_step bench_networks 90 bench.log step_bench_networks gpu
  if [[ $DRY == 1 && ! -f $REPO/bench/torch_vs_ganforge.py ]]; then
    record torch_vs_ganforge skipped "skipped: bench/torch_vs_ganforge.py not present" 0
  else
    run_step torch_vs_ganforge 120 bench.log step_torch_vs_ganforge gpu
  fi
  run_step bench_primitives 30 bench.log step_bench_primitives gpu
  run_step bench_gan_ops_a 30 bench.log step_bench_gan_ops_a gpu
  run_step bench_gan_ops_b 30 bench.log step_bench_gan_ops_b gpu
  run_step bench_modulated_conv2d 30 bench.log step_bench_modulated_conv2d gpu
  run_step bench_augment 45 bench.log step_bench_augment gpu
  run_step bench_inception 45 bench.log step_bench_inception gpu
  run_step bench_allreduce 45 bench.log step_bench_allreduce gpu
  # Last: it needs no GPU (the dry run proves it), so device time goes to the
  # GPU steps first; the GPU steps load the same carried libraries anyway.
  run_step cpu_smoke $((DRY ? 1200 : 60)) tests.log step_cpu_smoke
fi

# ---------------------------------------------------------------- the table
total=$((SECONDS - START))
# Counted here, not in the piped block below: that runs in a subshell.
nfail=0 nok=0 nskip=0
for st in "${STATUS[@]}"; do
  case $st in ok) nok=$((nok + 1)) ;; skipped) nskip=$((nskip + 1)) ;; *) nfail=$((nfail + 1)) ;; esac
done
{
  echo
  echo "gpu_check summary ($([[ $DRY == 1 ]] && echo dry run || echo GPU run), $(date -u '+%Y-%m-%d %H:%M UTC'), ${total} s in all)"
  printf '%-22s %-8s %5s  %s\n' step status sec "key figure"
  for i in "${!NAMES[@]}"; do
    printf '%-22s %-8s %5s  %s\n' "${NAMES[$i]}" "${STATUS[$i]}" "${SECS[$i]}" "${FIGS[$i]}"
  done
  [[ -z $BROKEN ]] || echo "gpu_check: $BROKEN: the remaining steps need it, not run"
  echo "gpu_check: $nok ok, $nfail failed or timed out, $nskip skipped; logs: $(cd "$OUT" && ls | paste -sd' ') in $OUT"
} | tee -a "$OUT/summary.txt"
# A chain step not run (out of budget) leaves nothing checked: no success.
((nfail == 0)) && [[ -z $BROKEN ]]
