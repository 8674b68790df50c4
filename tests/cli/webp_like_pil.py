"""WebP images read as Pillow reads them, for the program tests:
  webp_like_pil.py DATASET_TOOL WORKDIR
Writes WebP files with Pillow (lossy RGB, lossless, opaque RGBA, animated,
with an EXIF orientation), converts the folder with dataset_tool and checks
that every image it wrote holds the pixels the official loader would see:
np.array(PIL.Image.open(f).convert('RGB')), turned as the EXIF orientation
says (ImageOps.exif_transpose; the project applies it, the official loader
does not). Exits 0 when all hold, else prints what differs and exits 1;
77 when Pillow lacks WebP."""
import os
import shutil
import sys

try:
    import numpy as np
    import PIL.Image
    import PIL.ImageOps
    from PIL import features
    from like_pil import converted_like_pil
    from smooth_image import smooth_image
except ImportError as e:  # scripts/install_deps.sh --torch installs them
    print("skipped: %s" % e)
    sys.exit(77)


def main(dataset_tool, work):
    if not features.check("webp") or not features.check("webp_anim"):
        print("skipped: this Pillow reads no WebP")
        return 77
    shutil.rmtree(work, ignore_errors=True)
    src = os.path.join(work, "src")
    os.makedirs(src)
    size = 32
    images = {}
    images["a_lossy.webp"] = lambda f: PIL.Image.fromarray(smooth_image(size, 1)).save(f, quality=60)
    images["b_lossless.webp"] = lambda f: PIL.Image.fromarray(smooth_image(size, 2)).save(f, lossless=True)

    def opaque_rgba(f):
        rgba = np.concatenate([smooth_image(size, 3), np.full((size, size, 1), 255, np.uint8)], axis=-1)
        PIL.Image.fromarray(rgba, "RGBA").save(f, quality=80)
    images["c_opaque_alpha.webp"] = opaque_rgba

    def animated(f):
        frames = [PIL.Image.fromarray(smooth_image(size, s)) for s in (4, 5, 6)]
        frames[0].save(f, save_all=True, append_images=frames[1:], duration=100, quality=70)
    images["d_animated.webp"] = animated

    def oriented(f):
        exif = PIL.Image.Exif()
        exif[0x0112] = 6
        PIL.Image.fromarray(smooth_image(size, 7)).save(f, quality=70, exif=exif.tobytes())
    images["e_exif_orientation.webp"] = oriented
    for name, write in images.items():
        write(os.path.join(src, name))

    def expected(path):
        with PIL.Image.open(path) as im:
            if "d_animated" in path:
                assert getattr(im, "n_frames", 1) == 3, path
            return np.asarray(PIL.ImageOps.exif_transpose(im).convert("RGB"))
    if not converted_like_pil(dataset_tool, src, os.path.join(work, "out"), images, expected):
        return 1
    print("%d WebP files read as Pillow reads them" % len(images))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
