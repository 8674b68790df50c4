#!/usr/bin/env bash
# Faults of the filesystem as users meet them: a folder the user may not
# write, a file or folder it may not read, and a full disk (a small tmpfs,
# mounted in a private mount namespace: nothing outside this script sees it).
# Each must end the program with exit status 1 and one line that names the
# path and the cause, and leave no temporary file (engine/io/atomic_file.h)
# behind.
# As root, the permission cases run as user nobody (through setpriv), whom
# the modes of root's files keep out, and the whole script in a mount
# namespace (unshare -m). As another user, they run as that user, whom the
# modes of its own files keep out (chmod); the full-disk cases then run in a
# user and mount namespace of their own (unshare -rm), where the user is root
# and may mount a tmpfs; where such namespaces are not allowed, those cases
# are skipped, and a line says so. (The permission cases do not run in that
# namespace: its root is not kept out of the user's files by their modes.)
#   io_faults.sh BIN_DIR SNAPSHOT DATA_DIR   SNAPSHOT: a tiny StyleGAN2 network-snapshot .bin;
#                                            DATA_DIR: tests/data (the pSp fixture, a 32 px G)
#   io_faults.sh check                       exits 0 where the cases can run, 77 (saying why) where not
# Prints a line per case (and one for the cases skipped); exits 0 when every
# case run passed, 1 otherwise, 77 (skipped) when run as root without setpriv
# and unshare (util-linux) or without mount namespaces (root in a container
# without CAP_SYS_ADMIN), or when no case can run.
set -u

skip() {
  echo "io_faults: skipped: $*"
  exit 77
}

# Why the cases cannot run here; nothing when they can (as another user than
# root, the permission cases always can).
prerequisites() {
  [[ $(id -u) == 0 ]] || return
  for c in setpriv unshare mount; do
    command -v $c >/dev/null || { echo "no $c (util-linux)"; return; }
  done
  unshare -m true 2>/dev/null || echo "cannot create a mount namespace (needs CAP_SYS_ADMIN)"
}

if [[ ${1:-} == check ]]; then
  why=$(prerequisites)
  [[ -z $why ]] || skip "$why"
  exit 0
fi
bin=$1 snapshot=$2 data=$3

if [[ $(id -u) == 0 && -z ${GF_IO_FAULTS_NS:-} ]]; then  # become root of a private mount namespace
  why=$(prerequisites)
  [[ -z $why ]] || skip "$why"
  GF_IO_FAULTS_NS=1 exec unshare -m "$0" "$@"
fi

if [[ -n ${GF_IO_FAULTS_DISK:-} ]]; then  # the full-disk cases, in a user and mount namespace
  work=$GF_IO_FAULTS_DISK
  mkdir "$work/full" && mount -t tmpfs -o size=320k tmpfs "$work/full" ||
    { echo "io_faults: the full-disk cases: cannot mount a tmpfs in a user namespace" >&2; exit 1; }
else
  work=$(mktemp -d)
  # (chmod: a user's own folders it may not read or write, which rm needs.)
  trap 'umount "$work/full" 2>/dev/null; chmod -R u+rwx "$work" 2>/dev/null; rm -rf "$work"' EXIT
  chmod 755 "$work"  # nobody must reach its files
  cp "$snapshot" "$work/net.bin" && chmod 644 "$work/net.bin"
  cp "$snapshot" "$work/secret.bin" && chmod 600 "$work/secret.bin"    # nobody may not read it
  mkdir -m 555 "$work/locked"                                           # nor write here
  mkdir -m 777 "$work/open"
  mkdir -m 700 "$work/hidden"
  "$bin/generate" --network "$work/net.bin" --seeds 0-1 --raw "$work/images.npy" --outdir "$work/hidden" >/dev/null ||
    { echo "io_faults: cannot generate the images the cases read" >&2; exit 1; }
  chmod 644 "$work/images.npy"
  if [[ $(id -u) == 0 ]]; then
    mkdir "$work/full" && mount -t tmpfs -o size=320k tmpfs "$work/full" || skip "cannot mount a tmpfs"
    user=nobody
    as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    # nobody runs the programs from here when it cannot reach the build's (a
    # checkout in root's home).
    nbin=$bin
    if ! "${as_user[@]}" "$nbin/generate" --help >/dev/null 2>&1; then
      nbin=$work/bin
      mkdir -m 755 "$nbin" && cp "$bin"/{train_stylegan,generate,discriminate,export_weights} "$nbin/" &&
        chmod 755 "$nbin"/* || { echo "io_faults: cannot copy the programs for user nobody" >&2; exit 1; }
    fi
  else
    # The user itself, kept out of its own file and folders by their modes.
    user=$(id -un 2>/dev/null || id -u)
    as_user=(env)
    nbin=$bin
    chmod 000 "$work/secret.bin" "$work/hidden"
  fi
fi

failed=0
# expect NAME ERE COMMAND...: exit status 1, one line matching ERE, no temporary left.
# expect_last: the same for the last line, after a trainer's progress lines
# (which hold no other error line).
expect() {
  local name=$1 re=$2
  shift 2
  local out rc lines left
  out=$(OMP_NUM_THREADS=1 "$@" 2>&1)
  rc=$?
  if [[ -n ${GF_IO_FAULTS_LAST:-} ]]; then
    local errors
    errors=$(printf '%s\n' "$out" | grep -c 'error')
    out=$(printf '%s\n' "$out" | tail -n 1)
    ((errors == 1)) || rc="$rc, $errors lines with 'error'"
  fi
  lines=$(printf '%s\n' "$out" | wc -l)
  left=$(find "$work" -name '*.tmp' 2>/dev/null)
  if [[ $rc == 1 ]] && ((lines == 1)) && printf '%s\n' "$out" | grep -Eq -- "$re" && [[ -z $left ]]; then
    echo "io_faults: $name: ok: $out"
  else
    printf 'io_faults: %s: FAILED: expected exit status 1, one line matching %s and no temporary; got status %s, %s lines:\n%s\n' \
      "$name" "$re" "$rc" "$lines" "$out"
    [[ -z $left ]] || printf 'left behind: %s\n' "$left"
    failed=1
  fi
  find "$work" -name '*.tmp' -delete 2>/dev/null
}
expect_last() { GF_IO_FAULTS_LAST=1 expect "$@"; }

# Permission denied, as nobody (as root) or as the user itself. (Not in the
# full-disk cases' namespace, whose root is let into every file of the user.)
if [[ -z ${GF_IO_FAULTS_DISK:-} ]]; then
  if [[ $(id -u) != 0 ]] && [[ -r $work/secret.bin || -w $work/locked || -r $work/hidden ]]; then
    # Modes that do not keep the user out (a capability, a filesystem that ignores them).
    echo "io_faults: the permission cases: skipped: the modes of its own files do not keep user $user out"
    perm_skipped=1
  else
    expect train_outdir_in_locked_folder "^train_stylegan: error: --outdir $work/locked/runs: Permission denied$" \
      "${as_user[@]}" "$nbin/train_stylegan" --cfg tiny --kimg 0.004 --outdir "$work/locked/runs"
    expect train_data_unreadable_folder "^train_stylegan: error: $work/hidden: .*Permission denied" \
      "${as_user[@]}" "$nbin/train_stylegan" --cfg tiny --kimg 0.004 --data "$work/hidden" --outdir "$work/open/runs"
    expect generate_network_unreadable "^generate: error: .*$work/secret.bin: cannot open: Permission denied$" \
      "${as_user[@]}" "$nbin/generate" --network "$work/secret.bin" --seeds 0 --outdir "$work/open/gen"
    expect generate_outdir_locked "^generate: error: .*$work/locked/seed0000.png: Permission denied$" \
      "${as_user[@]}" "$nbin/generate" --network "$work/net.bin" --seeds 0 --outdir "$work/locked"
    expect generate_outdir_in_locked_folder "^generate: error: --outdir $work/locked/gen: Permission denied$" \
      "${as_user[@]}" "$nbin/generate" --network "$work/net.bin" --seeds 0 --outdir "$work/locked/gen"
    expect export_weights_out_locked "^export_weights: error: .*$work/locked/G.bin.*Permission denied$" \
      "${as_user[@]}" "$nbin/export_weights" --in "$work/net.bin" --net G_ema --out "$work/locked/G.bin"
    expect discriminate_out_locked "^discriminate: error: .*$work/locked/logits.npy.*Permission denied$" \
      "${as_user[@]}" "$nbin/discriminate" --network "$work/net.bin" --images "$work/images.npy" --out "$work/locked/logits.npy"
  fi
fi

# A full disk: the write that fails is named, its temporary removed. As
# another user than root, in a user and mount namespace (the same script,
# told by GF_IO_FAULTS_DISK to run these cases alone).
if [[ $(id -u) != 0 && -z ${GF_IO_FAULTS_DISK:-} ]]; then
  why=
  if ! command -v unshare >/dev/null; then
    why="no unshare (util-linux) to mount a tmpfs as user $user"
  # (The namespace alone is not enough: some systems refuse its mounts.)
  elif ! why=$(unshare -rm sh -c 'mkdir "$1" && mount -t tmpfs -o size=64k tmpfs "$1"' _ "$work/probe" 2>&1); then
    why="user $user cannot mount a tmpfs in a user and mount namespace (${why:-unshare -rm failed})"
  else
    why=
    # (GF_IO_FAULTS_NS: it is root there, but needs no mount namespace of its own.)
    GF_IO_FAULTS_NS=1 GF_IO_FAULTS_DISK=$work unshare -rm "$0" "$@" || failed=1
  fi
  if [[ -n $why ]]; then
    [[ -z ${perm_skipped:-} ]] || skip "no case can run as user $user: $why"
    echo "io_faults: the full-disk cases: skipped: $why"
  fi
  exit $failed
fi
expect_last train_disk_full "^train_stylegan: error: .*$work/full/runs/.*No space left on device$" \
  "$bin/train_stylegan" --cfg tiny --kimg 0.016 --tick 0.008 --snap 1 --outdir "$work/full/runs"
rm -rf "${work:?}"/full/*
expect generate_disk_full "^generate: error: .*$work/full/gen/.*No space left on device$" \
  "$bin/generate" --network "$work/net.bin" --seeds 0-999 --outdir "$work/full/gen"
rm -rf "${work:?}"/full/*
head -c 1M /dev/zero >"$work/full/filler" 2>/dev/null  # fills the disk,
truncate -s -16k "$work/full/filler"                     # then leaves 16 kB: less than the exported G
expect export_weights_disk_full "^export_weights: error: .*$work/full/G.bin.*No space left on device$" \
  "$bin/export_weights" --in "$work/net.bin" --net G_ema --out "$work/full/G.bin"
[[ -e $work/full/G.bin ]] && { echo "io_faults: export_weights_disk_full: FAILED: left a partial $work/full/G.bin"; failed=1; }
rm -rf "${work:?}"/full/*
expect_last train_pggan_disk_full "^train_pggan: error: .*$work/full/runs/.*No space left on device$" \
  "$bin/train_pggan" --cfg tiny --kimg 0.016 --snap 1 --outdir "$work/full/runs"
rm -rf "${work:?}"/full/*
expect_last train_psp_disk_full "^train_psp: error: .*$work/full/runs/.*No space left on device$" \
  "$bin/train_psp" --generator "$data/parity_32x1.bin" --cfg cpu --max-images 24 --val-images 8 --max-steps 2 \
  --tick 1 --snap 1 --outdir "$work/full/runs"
rm -rf "${work:?}"/full/*
mkdir "$work/full/run" && cp "$(dirname "$snapshot")"/{stats.jsonl,training_options.json,reals.png} "$work/full/run/" ||
  { echo "io_faults: cannot copy the run folder make_report reads" >&2; exit 1; }
head -c 1M /dev/zero >"$work/full/filler" 2>/dev/null  # fills the disk,
truncate -s -4k "$work/full/filler"                    # then leaves 4 kB: less than the report
expect make_report_disk_full "^make_report: error: .*$work/full/run/report.html.*No space left on device$" \
  "$bin/make_report" "$work/full/run"
[[ -e $work/full/run/report.html ]] && { echo "io_faults: make_report_disk_full: FAILED: left a partial report.html"; failed=1; }
expect psp_encode_disk_full "^psp encode: error: .*$work/full/enc/.*No space left on device$" \
  "$bin/psp" encode --network "$data/psp_gradual.bin" --images "$data/dataset_fixture.zip" --outdir "$work/full/enc"

exit $failed
