"""psp's side-by-side images make their input panel as pSp's scripts do, for the program tests:
  psp_panels.py PSP NETWORK IMAGES.zip WORKDIR
NETWORK: a pSp file whose encoder reads 32x32 RGB; IMAGES: a zip of small
images. psp mix --resize-outputs writes rows of 256x256 panels; the first
must be what style_mixing.py (and inference.py for its coupled images)
makes of the input: the image resized to the encoder's input as
transforms.Resize does (PIL bilinear), ToTensor and Normalize(0.5, 0.5) in
float32, tensor2im (((x + 1) / 2) clipped to [0, 1] times 255, truncated to
uint8), then PIL's Image.resize((256, 256)), bicubic by default. psp encode
writes inference_coupled/ for image 0 without --couple (as inference.py,
for every 100th image) and stats.txt ("Runtime <mean>+-<std>").
Exits 0 when all hold, else prints what differs and exits 1."""
import os
import re
import shutil
import subprocess
import sys
import zipfile

try:
    import numpy as np
    import PIL.Image
except ImportError as e:  # scripts/install_deps.sh --torch installs them
    print("skipped: %s" % e)
    sys.exit(77)


def input_panel(image, input_size, panel):
    x = np.asarray(image.convert("RGB").resize((input_size, input_size), PIL.Image.BILINEAR), np.float32) / np.float32(255)
    x = (x - np.float32(0.5)) / np.float32(0.5)
    t = np.clip((x + np.float32(1)) / np.float32(2), 0, 1) * np.float32(255)
    return np.asarray(PIL.Image.fromarray(t.astype(np.uint8)).resize((panel, panel)))


def main(psp, network, images, work):
    shutil.rmtree(work, ignore_errors=True)
    mix = os.path.join(work, "mix")
    subprocess.run([psp, "mix", "--network", network, "--images", images, "--outdir", mix, "--latent-mask", "4-7",
                    "--n-outputs", "1", "--resize-outputs"], check=True, stdout=subprocess.DEVNULL)
    failed = False
    with zipfile.ZipFile(images) as z:
        names = sorted(n for n in z.namelist() if n.endswith(".png"))
        for n in names:
            with z.open(n) as f:
                want = input_panel(PIL.Image.open(f), 32, 256)
            row = np.asarray(PIL.Image.open(os.path.join(mix, "style_mixing", n[:-4].replace("/", "_") + ".png")).convert("RGB"))
            got = row[:, :256]
            if got.shape != want.shape or not np.array_equal(got, want):
                diff = np.abs(got.astype(int) - want.astype(int)).max() if got.shape == want.shape else got.shape
                print("%s: the input panel differs from pSp's (max difference or shape %s)" % (n, diff))
                failed = True
    enc = os.path.join(work, "enc")
    subprocess.run([psp, "encode", "--network", network, "--images", images, "--outdir", enc], check=True,
                   stdout=subprocess.DEVNULL)
    coupled = sorted(os.listdir(os.path.join(enc, "inference_coupled")))
    first = names[0][:-4].replace("/", "_") + ".png"
    if coupled != [first]:
        print("inference_coupled/ holds %s without --couple; inference.py couples image 0 only (of 100)" % coupled)
        failed = True
    stats = open(os.path.join(enc, "stats.txt")).read()
    if not re.fullmatch(r"Runtime [0-9]+\.[0-9]{4}\+-[0-9]+\.[0-9]{4}", stats):
        print("stats.txt holds %r, not inference.py's 'Runtime <mean>+-<std>'" % stats)
        failed = True
    if not failed:
        print("psp panels and outputs as pSp's scripts make them")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
