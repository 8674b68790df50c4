#!/usr/bin/env bash
# gpu_check_dryrun.sh: runs `scripts/gpu_check.sh --dry-run` in a machine shaped
# like the lent GPU machine, to prove that the files carried in deps/ are enough:
# a debootstrapped Debian bookworm with only g++, make and python3 (none of the
# -dev packages, no OpenBLAS, no libgfortran, no Fashion-MNIST) plus Debian's
# cmake and ninja (there they come from pip: PyPI is out of reach here), a venv
# at /opt/torch/.venv whose python3 comes first on PATH (not Debian's), the
# CUDA toolkit as a hard-linked copy of this machine's with cuDNN and NCCL taken
# out, and cuDNN and NCCL only as that venv's nvidia/{cudnn,nccl} wheel folders
# (headers and versioned libraries, as the nvidia-cudnn-cu13 and nvidia-nccl-cu13
# wheels lay them out). The repository arrives as the device tool sends it: the
# files git tracks or does not ignore, plus deps/ (the carried folder).
#
#   scripts/gpu_check_dryrun.sh [--root DIR] [--fresh] [--keep-build]
#
# Needs root, debootstrap, network (debootstrap, the first time only)
# and this machine's toolkit at /usr/local/cuda. --root: where the environment
# lives (default /tmp/gpucheck-chroot; never inside a repository); --fresh:
# rebuild it; --keep-build: keep the last run's build/ (an incremental build, for
# iterating; the proof is a run without it). deps/ is fetched first if it lacks any .deb of
# gpu_check.sh's lists (`gpu_check.sh --check-deps`). The run's logs land in
# ROOT/out/ (the $OUT of the run); the console output in ROOT/console.txt.
# GPU_CHECK_JOBS (default 2, this machine's share) sets the build's -j.
# To delete the environment: `grep ROOT /proc/mounts` must list nothing, then rm -rf.
set -euo pipefail

root=/tmp/gpucheck-chroot
fresh=0
keep_build=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --root)  # a missing value is bad usage (2), in one line
      [[ $# -ge 2 && -n $2 ]] || { echo "gpu_check_dryrun: --root needs a folder" >&2; exit 2; }
      root=$2; shift ;;
    --fresh) fresh=1 ;;
    --keep-build) keep_build=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check_dryrun: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
repo=$(cd "$(dirname "$0")/.." && pwd)
[[ $(id -u) == 0 ]] || { echo "gpu_check_dryrun: needs root (debootstrap, chroot, mount)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "gpu_check_dryrun: apt-get install debootstrap" >&2; exit 1; }
cuda=$(readlink -f /usr/local/cuda)
[[ -x $cuda/bin/nvcc ]] || { echo "gpu_check_dryrun: no CUDA toolkit at /usr/local/cuda" >&2; exit 1; }
root=$(readlink -m "$root")
case $root/ in "$repo"/*|/work/main/*) echo "gpu_check_dryrun: --root must be outside the repository" >&2; exit 1 ;; esac
if awk -v r="$root/" 'index($2 "/", r) == 1 {found = 1} END {exit !found}' /proc/mounts; then
  echo "gpu_check_dryrun: something is still mounted under $root (an earlier run?): umount it first" >&2
  exit 1
fi

# ---- the environment (made once; --fresh makes it again)
if ((fresh)); then rm -rf "$root"; fi
venv=/opt/torch/.venv
if [[ ! -e $root/.ready ]]; then
  rm -rf "$root"
  mirror=$(awk '/^URIs:/ && /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "gpu_check_dryrun: debootstrap bookworm into $root from $mirror"
  debootstrap --variant=minbase --include=g++,make,cmake,ninja-build,python3 bookworm "$root" "$mirror" >/dev/null
  chroot "$root" python3 -m venv --without-pip "$venv"
  touch "$root/.ready"
fi
# The point of the proof: none of what deps/ carries may be installed here.
# Of the fallbacks, all but libgomp1 and libquadmath0, which g++ itself needs.
for p in catch2 nlohmann-json3-dev libstb-dev libstb0 libwebp-dev libwebp7 libwebpdemux2 libwebpmux3 liblmdb-dev liblmdb0 liblinear-dev liblinear4 libtiff-dev libtiff6 libjpeg62-turbo-dev libpng-dev libpng16-16 libopenjp2-7-dev libbz2-dev liblzma-dev zlib1g-dev libopenblas0-openmp libopenblas-openmp-dev libopenblas0 \
         libgfortran5 libdeflate0 libjbig0 libjpeg62-turbo libopenjp2-7 liblerc4 dataset-fashion-mnist; do
  if chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    echo "gpu_check_dryrun: $p is installed in $root: not a clean machine (use --fresh)" >&2
    exit 1
  fi
done

# ---- the toolkit without cuDNN and NCCL; those two as the venv's wheels
site=$(chroot "$root" $venv/bin/python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [[ ! -e $root/.toolkit ]]; then
  rm -rf "$root/usr/local/$(basename "$cuda")" "$root$site/nvidia"
  mkdir -p "$root/usr/local"
  cp -al "$cuda" "$root/usr/local/" 2>/dev/null || cp -a "$cuda" "$root/usr/local/"
  ln -sfn "$(basename "$cuda")" "$root/usr/local/cuda"
  tk=$root/usr/local/$(basename "$cuda")
  mkdir -p "$root$site/nvidia/cudnn/include" "$root$site/nvidia/cudnn/lib" "$root$site/nvidia/nccl/include" \
           "$root$site/nvidia/nccl/lib"
  cp -al "$tk"/include/cudnn*.h "$root$site/nvidia/cudnn/include/"
  cp -al "$tk"/lib64/libcudnn*.so.9 "$root$site/nvidia/cudnn/lib/"
  cp -al "$tk"/include/nccl.h "$tk"/include/nccl_device.h "$tk"/include/nccl_device "$root$site/nvidia/nccl/include/"
  cp -al "$tk"/lib64/libnccl.so.2 "$root$site/nvidia/nccl/lib/"
  # Unlinks only: the hard links' other names in the host's toolkit stay.
  find "$tk" \( -name 'libcudnn*' -o -name 'cudnn*' -o -name 'libnccl*' -o -name 'nccl*' -o -name 'nvidia_cudnn*' \
             -o -name 'nvidia_nccl*' \) -prune -exec rm -rf {} +
  touch "$root/.toolkit"
fi
if find "$root/usr/local/cuda/" -name 'libcudnn*' -o -name 'cudnn.h' | grep -q .; then
  echo "gpu_check_dryrun: cuDNN is still in the toolkit copy" >&2
  exit 1
fi

# ---- the repository, as the device tool sends it
# A deps/ fetched with older lists is fetched again: the proof is of the current ones.
"$repo/scripts/gpu_check.sh" --check-deps || "$repo/scripts/gpu_check.sh" --fetch
rm -rf "$root/work/build.kept"
((keep_build)) && [[ -d $root/work/repo/build ]] && mv "$root/work/repo/build" "$root/work/build.kept"
rm -rf "$root/work/repo" "$root/out"
mkdir -p "$root/work/repo" "$root/out"
(cd "$repo" && git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) |
  tar -C "$root/work/repo" -xf -
mkdir -p "$root/work/repo/deps"
cp -a "$repo/deps/debs" "$repo/deps/data" "$root/work/repo/deps/"
echo "gpu_check_dryrun: tree $(du -sh "$root/work/repo" | cut -f1) (deps/ $(du -sh "$root/work/repo/deps" | cut -f1))"
if [[ -d $root/work/build.kept ]]; then mv "$root/work/build.kept" "$root/work/repo/build"; fi

# ---- the run
cleanup() {
  umount "$root/dev" 2>/dev/null || umount -l "$root/dev" 2>/dev/null || true
  umount "$root/proc" 2>/dev/null || umount -l "$root/proc" 2>/dev/null || true
}
trap cleanup EXIT
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
t0=$SECONDS
set +e
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 OUT=/out GPU_CHECK_JOBS="${GPU_CHECK_JOBS:-2}" \
  PATH=$venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /bin/bash -c 'cd /work/repo && scripts/gpu_check.sh --dry-run' 2>&1 | tee "$root/console.txt"
rc=${PIPESTATUS[0]}
set -e
echo "gpu_check_dryrun: gpu_check.sh --dry-run exited $rc after $((SECONDS - t0)) s; logs in $root/out"
exit "$rc"
