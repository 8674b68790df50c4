"""TIFF images read as Pillow reads them, for the program tests:
  tiff_like_pil.py DATASET_TOOL WORKDIR
Writes TIFF files with Pillow, converts each folder with dataset_tool and
checks that every image it wrote holds the pixels the official loader would
see: colour files (RGB uncompressed, LZW, Deflate, PackBits and JPEG, an
opaque RGBA, a palette image, three pages, an Orientation tag of 6, which
Pillow applies on load, 16-bit RGB in both byte orders, written here as
Pillow cannot write them) against np.array(PIL.Image.open(f).convert('RGB'));
grey files (8-bit, 1-bit, 16-bit) against convert('L'), and the 16-bit one
against the high byte of Pillow's I;16 integers (data/images/tiff_image.h). Exits 0 when all hold, else prints what differs and
exits 1; 77 when Pillow or NumPy is missing."""
import os
import shutil
import struct
import sys

try:
    import numpy as np
    import PIL.Image
    from like_pil import converted_like_pil
    from smooth_image import smooth_image
except ImportError as e:  # scripts/install_deps.sh --torch installs them
    print("skipped: %s" % e)
    sys.exit(77)


def write_rgb16_tiff(path, pixels, order):
    """An uncompressed 16-bit RGB TIFF of pixels (uint16 [h, w, 3]), byte
    order 'II' or 'MM': one strip, the tags a reader needs."""
    h, w, _ = pixels.shape
    e = "<" if order == "II" else ">"
    # (tag, type: 3 SHORT or 4 LONG, count, value); 258 and 273 point past the directory.
    tags = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 3, None), (259, 3, 1, 1), (262, 3, 1, 2), (273, 4, 1, None),
            (277, 3, 1, 3), (278, 4, 1, h), (279, 4, 1, pixels.size * 2), (284, 3, 1, 1)]
    bits_at = 8 + 2 + 12 * len(tags) + 4
    data_at = bits_at + 6
    out = order.encode() + struct.pack(e + "HI", 42, 8) + struct.pack(e + "H", len(tags))
    for tag, kind, count, value in tags:
        value = bits_at if tag == 258 else data_at if tag == 273 else value
        field = struct.pack(e + "HH", value, 0) if kind == 3 and count == 1 else struct.pack(e + "I", value)
        out += struct.pack(e + "HHI", tag, kind, count) + field
    out += struct.pack(e + "I", 0) + struct.pack(e + "HHH", 16, 16, 16) + pixels.astype(e + "u2").tobytes()
    with open(path, "wb") as f:
        f.write(out)


def colour_images(size):
    images = {}
    rng = np.random.RandomState(16)
    for order in ("II", "MM"):  # Pillow keeps each sample's high byte (libtiff's reader rounded)
        images["f_rgb16_%s.tif" % order] = lambda f, o=order, px=rng.randint(0, 65536, (size, size, 3)): (
            write_rgb16_tiff(f, px, o))
    for i, compression in enumerate(("raw", "tiff_lzw", "tiff_adobe_deflate", "packbits", "jpeg")):
        images["a%d_%s.tif" % (i, compression)] = (
            lambda f, c=compression, s=i: PIL.Image.fromarray(smooth_image(size, s)).save(f, compression=c))

    def opaque_rgba(f):
        rgba = np.concatenate([smooth_image(size, 10), np.full((size, size, 1), 255, np.uint8)], axis=-1)
        PIL.Image.fromarray(rgba, "RGBA").save(f, compression="tiff_lzw")
    images["b_opaque_alpha.tif"] = opaque_rgba
    images["c_palette.tif"] = lambda f: PIL.Image.fromarray(smooth_image(size, 11)).quantize(16).save(f)

    def pages(f):
        frames = [PIL.Image.fromarray(smooth_image(size, s)) for s in (12, 13, 14)]
        frames[0].save(f, save_all=True, append_images=frames[1:])
    images["d_three_pages.tiff"] = pages
    images["e_orientation_6.tif"] = lambda f: PIL.Image.fromarray(smooth_image(size, 15)[:, : size // 2]).resize(
        (size, size)).save(f, tiffinfo={274: 6})
    return images


def grey_images(size):
    rng = np.random.RandomState(20)
    return {
        "a_grey.tif": lambda f: PIL.Image.fromarray(smooth_image(size, 21)[..., 0]).save(f, compression="tiff_lzw"),
        "b_one_bit.tif": lambda f: PIL.Image.fromarray(rng.randint(0, 2, (size, size)).astype(bool)).save(f),
        "c_16_bit.tif": lambda f: PIL.Image.fromarray(rng.randint(0, 65536, (size, size)).astype(np.uint16)).save(f),
    }


def expected(path, grey):
    with PIL.Image.open(path) as im:
        if im.mode == "I;16":
            return (np.asarray(im).astype(np.uint16) >> 8).astype(np.uint8)
        return np.asarray(im.convert("L" if grey else "RGB"))


def check(dataset_tool, work, sub, images, grey):
    src = os.path.join(work, sub)
    os.makedirs(src)
    for name, write in images.items():
        write(os.path.join(src, name))
    ok = converted_like_pil(dataset_tool, src, os.path.join(work, sub + "_out"), images,
                            lambda path: expected(path, grey))
    return ok, len(images)


def main(dataset_tool, work):
    shutil.rmtree(work, ignore_errors=True)
    size = 32
    ok_colour, n_colour = check(dataset_tool, work, "colour", colour_images(size), grey=False)
    ok_grey, n_grey = check(dataset_tool, work, "grey", grey_images(size), grey=True)
    if not (ok_colour and ok_grey):
        return 1
    print("%d TIFF files read as Pillow reads them" % (n_colour + n_grey))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
