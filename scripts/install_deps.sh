#!/usr/bin/env bash
# Installs what ganforge needs from Debian's packages. Idempotent: installs
# only what is missing, and runs apt-get update only then.
#   scripts/install_deps.sh          build and train dependencies
#   scripts/install_deps.sh --torch  also PyTorch (python3-torch), Pillow (python3-pil: tools/fixtures/make_pil_resize_golden.py, the tests that compare with PIL), SciPy
#                                    (python3-scipy: tools/fixtures/make_metrics_golden.py, the official FID's sqrtm), py-lmdb (python3-lmdb: the LSUN lmdb
#                                    test source) and torchvision (python3-torchvision: the fixture scripts' checks of the perceptual networks'
#                                    names against torchvision's, tools/fixtures/make_psp_train_fixtures.py's ResNet-50), scikit-learn (python3-sklearn:
#                                    tools/fixtures/make_ls_fixtures.py, the official LS's LinearSVC), which tools/convert_weights.py, its
#                                    tests and the golden-data scripts in tools/fixtures/ use (--golden: the same)
#   scripts/install_deps.sh --chromium  also headless Chromium (and a font), which the report.html
#                                    tests render pages with
# The options combine: scripts/test.sh asks for --torch --chromium.
set -euo pipefail
# libdnnl-dev (oneDNN) is optional for the build; it runs the CPU convolutions.
# ocl-icd-opencl-dev: Debian's oneDNN CMake config requires OpenCL's headers
# (a Recommends of libdnnl-dev, which --no-install-recommends skips).
# iproute2: the two-machine tests' network namespaces (tests/cli/two_machines.sh).
pkgs=(cmake make g++ catch2 nlohmann-json3-dev libstb-dev libwebp-dev liblmdb-dev liblinear-dev libtiff-dev libjpeg62-turbo-dev libpng-dev libopenjp2-7-dev libbz2-dev liblzma-dev zlib1g-dev libopenblas-openmp-dev libdnnl-dev ocl-icd-opencl-dev dataset-fashion-mnist libopenmpi-dev openmpi-bin iproute2)
for a in "$@"; do
  case "$a" in
    --torch | --golden) pkgs+=(python3-torch python3-pil python3-scipy python3-lmdb python3-torchvision python3-sklearn) ;;
    --chromium) pkgs+=(chromium fonts-dejavu-core) ;;
    -h | --help) sed -n '2,/^[^#]/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install_deps: unknown option $a (see --help)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install_deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install_deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
