"""The checks the format tests (gif_like_pil.py, tiff_like_pil.py,
webp_like_pil.py, ...) share: dataset_tool converts a folder, and each
image it wrote must hold the pixels Pillow gives for the file it came from;
or it refuses a folder, naming why."""
import os
import subprocess

import numpy as np
import PIL.Image


def converted_like_pil(dataset_tool, src, out, names, expected, args=()):
    """Runs dataset_tool (with `args`) from folder `src` to folder `out`;
    `expected(path)` is Pillow's uint8 array for a source file. The outputs
    are in name order (img%08d.png). Prints each file that differs, or the
    line dataset_tool refused the folder with; True when none does."""
    run = subprocess.run([dataset_tool, "--source", src, "--dest", out, *args], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, errors="replace")
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines() or ["(exit status %d, nothing on stderr)" % run.returncode]
        print("%s: dataset_tool refused the folder: %s" % (src, lines[-1]))
        return False
    ok = True
    for index, name in enumerate(sorted(names)):
        want = expected(os.path.join(src, name))
        got = np.asarray(PIL.Image.open(os.path.join(out, "%05d" % (index // 1000), "img%08d.png" % index)))
        if got.shape != want.shape or not np.array_equal(got, want):
            diff = np.abs(got.astype(int) - want.astype(int)).max() if got.shape == want.shape else "shape"
            print("%s: dataset_tool's pixels differ from Pillow's (%s vs %s, largest difference %s)"
                  % (name, got.shape, want.shape, diff))
            ok = False
    return ok


def refused_with(dataset_tool, src, name, words):
    """Runs dataset_tool on folder `src`, which holds the file `name` alone:
    True when it fails with `words` in its error; else prints why not."""
    run = subprocess.run([dataset_tool, "--source", src, "--dest", src + "_out"], capture_output=True, text=True)
    if run.returncode == 0 or words not in run.stderr:
        print("%s: dataset_tool did not refuse it (%s): %s" % (name, words, run.stderr.strip()[-300:]))
        return False
    return True


def refused_by_both(dataset_tool, work, name, data, words):
    """Writes `data` as file `name` alone in a folder under `work`: True when
    Pillow refuses it (any exception in open or convert) and dataset_tool
    refuses it with `words` in its error; else prints why not."""
    folder = os.path.join(work, "refused_" + os.path.splitext(name)[0])
    os.makedirs(folder)
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(data)
    try:
        PIL.Image.open(path).convert("RGB")
        print("%s: Pillow reads it, but the test says Pillow refuses it" % name)
        return False
    except Exception:  # noqa: BLE001 (Pillow raises several kinds: each is a refusal)
        pass
    return refused_with(dataset_tool, folder, name, words)
