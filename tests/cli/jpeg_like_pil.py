"""JPEG images read as Pillow reads them, for the program tests:
  jpeg_like_pil.py DATASET_TOOL WORKDIR
Writes JPEG files with Pillow (baseline at qualities 50, 90 and 100,
chroma subsampling 4:4:4, 4:2:2 and 4:2:0, progressive, optimized
Huffman tables, grey, and CMYK, also with a junk byte before its frame
header), converts each folder with dataset_tool and checks that
every image it wrote holds the bytes Pillow decodes for the official
tools: np.asarray(PIL.Image.open(f).convert(M)), M 'RGB', or 'L' for the
grey folder. Both decode with the same libjpeg-turbo, with its defaults,
so the pixels must be equal, not close. A file without its end-of-image
marker, which Pillow refuses ("image file is truncated"), must be refused
too, and so must one of two components, which Pillow cannot read. Exits 0
when all hold, else 1; 77 when Pillow or NumPy is missing."""
import io
import os
import shutil
import subprocess
import sys

try:
    import numpy as np
    import PIL.Image
    from like_pil import converted_like_pil
    from smooth_image import smooth_image
except ImportError as e:  # scripts/install_deps.sh --torch installs them
    print("skipped: %s" % e)
    sys.exit(77)


def jpeg(array, mode="RGB", **kw):
    b = io.BytesIO()
    PIL.Image.fromarray(array, mode).save(b, "JPEG", **kw)
    return b.getvalue()


def main(dataset_tool, work):
    shutil.rmtree(work, ignore_errors=True)
    size = 32
    colour = {
        "a_q50_420.jpg": jpeg(smooth_image(size, 1), quality=50, subsampling=2),
        "b_q90_422.jpg": jpeg(smooth_image(size, 2), quality=90, subsampling=1),
        "c_q100_444.jpg": jpeg(smooth_image(size, 3), quality=100, subsampling=0),
        "d_progressive.jpg": jpeg(smooth_image(size, 4), quality=85, progressive=True),
        "e_optimized.jpg": jpeg(smooth_image(size, 5), quality=80, optimize=True),
    }
    # CMYK (Adobe, inverted, as Pillow writes it), through stb_image, whose
    # conversion to RGB is Pillow's; and the same with a byte of junk before
    # its frame header, which libjpeg skips with a warning, as Pillow reads it.
    cmyk = io.BytesIO()
    PIL.Image.fromarray(smooth_image(size, 9)).convert("CMYK").save(cmyk, "JPEG", quality=90)
    cmyk = cmyk.getvalue()
    colour["f_cmyk.jpg"] = cmyk
    sof = cmyk.index(b"\xff\xc0")
    colour["g_cmyk_junk_before_frame.jpg"] = cmyk[:sof] + b"\0" + cmyk[sof:]
    grey = {
        "a_grey.jpg": jpeg(smooth_image(size, 7)[..., 0], "L", quality=80),
        "b_grey_progressive.jpg": jpeg(smooth_image(size, 8)[..., 1], "L", quality=60, progressive=True),
    }
    ok = True
    for group, files, mode in (("colour", colour, "RGB"), ("grey", grey, "L")):
        src = os.path.join(work, group)
        os.makedirs(src)
        for name, data in files.items():
            with open(os.path.join(src, name), "wb") as f:
                f.write(data)
            with PIL.Image.open(os.path.join(src, name)) as im:
                im.load()
                assert im.mode == ("CMYK" if "cmyk" in name else mode), name

        def expected(path):
            with PIL.Image.open(path) as im:
                return np.asarray(im.convert(mode))
        ok = converted_like_pil(dataset_tool, src, os.path.join(work, group + "_out"), files, expected) and ok
    no_end = jpeg(smooth_image(size, 6), quality=75)
    assert no_end.endswith(b"\xff\xd9")
    cut = os.path.join(work, "no_end")
    os.makedirs(cut)
    with open(os.path.join(cut, "a.jpg"), "wb") as f:
        f.write(no_end[:-2])
    try:
        PIL.Image.open(os.path.join(cut, "a.jpg")).load()
        sys.exit("the fixture: Pillow read a JPEG without its end marker")
    except OSError:
        pass
    run = subprocess.run([dataset_tool, "--source", cut, "--dest", cut + "_out"], capture_output=True, text=True)
    if run.returncode == 0 or "a.jpg: truncated JPEG: the file ends before its pixels do" not in run.stderr:
        print("a JPEG without its end marker: dataset_tool did not refuse it as Pillow does: %s" % run.stderr.strip())
        ok = False
    # Two components (a grey frame given a second one): Pillow cannot read it.
    grey_bytes = grey["a_grey.jpg"]
    sof = grey_bytes.index(b"\xff\xc0")
    length = grey_bytes[sof + 3]
    two = bytearray(grey_bytes[:sof + 2 + length])
    two[sof + 3] += 3  # the frame header's length
    two[sof + 9] = 2   # components
    two += b"\x02\x11\x00" + grey_bytes[sof + 2 + length:]
    bad = os.path.join(work, "two_components")
    os.makedirs(bad)
    with open(os.path.join(bad, "a.jpg"), "wb") as f:
        f.write(bytes(two))
    run = subprocess.run([dataset_tool, "--source", bad, "--dest", bad + "_out"], capture_output=True, text=True)
    if run.returncode == 0 or "a.jpg: unreadable JPEG (2 components" not in run.stderr:
        print("a JPEG of two components: dataset_tool did not refuse it: %s" % run.stderr.strip()[-300:])
        ok = False
    if not ok:
        return 1
    print("%d JPEG files read as Pillow reads them" % (len(colour) + len(grey)))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
