"""JPEG 2000 images read as Pillow reads them (OpenJPEG, the library
Pillow 9.4 uses), for the program tests:
  jpeg2000_like_pil.py DATASET_TOOL WORKDIR
Writes JPEG 2000 files with Pillow, one folder a group, each converted by
its own dataset_tool run:
  colour  .jp2 and bare .j2k codestreams: reversible, irreversible at a
          rate, tiles of 8x8, the multiple component transform, opaque RGBA;
          a grey codestream of 8x8 tiles whose .jp2 header says three
          components (Pillow's RGB, each tile slipped a byte for a pixel);
  grey    'L' as .jp2 and .j2k, 16-bit 'I;16' as both (Pillow's integers,
          to 8 bits as the project rounds 16 bits: round(v * 255 / 65535)),
          opaque 'LA'.
Each image dataset_tool wrote must hold Pillow's pixels, convert('RGB') or
convert('L'). Then a file cut short (Pillow fails on it) and an 'LA' with
transparent pixels, alone in a folder each, must be refused naming why.
Exits 0 when all hold, else 1; 77 when Pillow lacks JPEG 2000."""
import os
import shutil
import sys

try:
    import numpy as np
    import PIL.Image
    from PIL import features
    from like_pil import converted_like_pil, refused_with
    from smooth_image import smooth_image
except ImportError as e:  # scripts/install_deps.sh --torch installs them
    print("skipped: %s" % e)
    sys.exit(77)

SIZE = 16


def opaque(grey_or_rgb):
    return np.dstack([grey_or_rgb, np.full((SIZE, SIZE), 255, np.uint8)])


def three_in_header(f):
    """An 'L' .jp2 of 8x8 tiles, its ihdr box saying three components."""
    PIL.Image.fromarray(smooth_image(SIZE, 14)[..., 0]).save(f, tile_size=(8, 8))
    with open(f, "rb") as fh:
        data = bytearray(fh.read())
    at = data.index(b"ihdr") + 12  # height, width, then the component count
    data[at:at + 2] = b"\0\3"
    with open(f, "wb") as fh:
        fh.write(bytes(data))


def colour_files():
    rgb = [PIL.Image.fromarray(smooth_image(SIZE, s)) for s in range(1, 7)]
    return {
        "a_reversible.jp2": lambda f: rgb[0].save(f),
        "b_codestream.j2k": lambda f: rgb[1].save(f),
        "c_irreversible.jp2": lambda f: rgb[2].save(f, irreversible=True, quality_mode="rates", quality_layers=[20]),
        "d_tiles.jp2": lambda f: rgb[3].save(f, tile_size=(8, 8)),
        "e_mct.j2k": lambda f: rgb[4].save(f, mct=1),
        "f_opaque_rgba.jp2": lambda f: PIL.Image.fromarray(opaque(smooth_image(SIZE, 6)), "RGBA").save(f),
        "g_grey_codestream_rgb_header.jp2": three_in_header,
    }


def grey_files():
    grey = [smooth_image(SIZE, s)[..., 0] for s in range(7, 10)]
    wide = (np.random.RandomState(11).rand(SIZE, SIZE) * 65535).astype(np.uint16)
    return {
        "a_grey.jp2": lambda f: PIL.Image.fromarray(grey[0]).save(f),
        "b_grey.j2k": lambda f: PIL.Image.fromarray(grey[1]).save(f),
        "c_16_bit.jp2": lambda f: PIL.Image.fromarray(wide, "I;16").save(f),
        "d_16_bit.j2k": lambda f: PIL.Image.fromarray(wide[::-1].copy(), "I;16").save(f),
        "e_opaque_la.jp2": lambda f: PIL.Image.fromarray(opaque(grey[2]), "LA").save(f),
    }


def pillow_pixels(path, mode):
    with PIL.Image.open(path) as im:
        if im.mode == "I;16":
            return np.round(np.asarray(im).astype(np.float64) * 255 / 65535).astype(np.uint8)
        return np.asarray(im.convert(mode))


def convert(dataset_tool, work, group, files, mode):
    src = os.path.join(work, group)
    os.makedirs(src)
    for name, write in files.items():
        write(os.path.join(src, name))
    return converted_like_pil(dataset_tool, src, os.path.join(work, group + "_out"), files,
                              lambda path: pillow_pixels(path, mode))


def check_refused(dataset_tool, work):
    ok = True
    whole = os.path.join(work, "whole.jp2")
    PIL.Image.fromarray(smooth_image(SIZE, 12)).save(whole)
    with open(whole, "rb") as f:
        data = f.read()
    see_through = opaque(smooth_image(SIZE, 13)[..., 0])
    see_through[3, 5, 1] = 128
    cases = {"a_cut.jp2": (lambda f: open(f, "wb").write(data[:len(data) * 2 // 3]), "unreadable JPEG 2000"),
             "b_transparent_la.jp2": (lambda f: PIL.Image.fromarray(see_through, "LA").save(f), "has transparent pixels")}
    for name, (write, words) in cases.items():
        folder = os.path.join(work, "refused_" + name)
        os.makedirs(folder)
        path = os.path.join(folder, name)
        write(path)
        try:  # the fixture: Pillow fails on the cut file, and reads the other's alpha below 255
            with PIL.Image.open(path) as im:
                alpha = np.asarray(im)[..., 1]
            assert name != "a_cut.jp2" and alpha.min() < 255, "%s: Pillow reads it whole and opaque" % name
        except OSError:
            assert name == "a_cut.jp2", "%s: Pillow fails on it" % name
        ok = refused_with(dataset_tool, folder, name, words) and ok
    return ok


def main(dataset_tool, work):
    if not features.check("jpg_2000"):
        print("skipped: this Pillow reads no JPEG 2000")
        return 77
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    groups = [("colour", colour_files(), "RGB"), ("grey", grey_files(), "L")]
    ok = all([convert(dataset_tool, work, group, files, mode) for group, files, mode in groups])
    ok = check_refused(dataset_tool, work) and ok
    if not ok:
        return 1
    print("%d JPEG 2000 files read as Pillow reads them" % sum(len(files) for _, files, _ in groups))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
