#!/usr/bin/env python3
"""report.html (train/report.h), checked from the outside with the Python
standard library only.

  test_report.py --make-report BIN                 a made-up run folder with known statistics
  test_report.py --make-report BIN --run DIR ...   real run folders (after training)
  ... --chromium PATH                              also render each page in headless Chromium
                                                   and check the picture (exit 77: no Chromium)

A page must be well-formed (strict XML, and tag by tag as HTML), take nothing
from the network, link the image files of its folder, and hold one curve per
statistic with one point per tick (a gap for a null value; a tick without
the key is passed over, the line joining its neighbours) where the data and
the axes put it. With --chromium the rendered picture must not be
blank, must show every plot frame, and must have each curve's colour at the
places the data says, and not where a gap is.
"""
import argparse
import html.parser
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

AXIS_KEYS = {"tick", "kimg", "total_sec", "timestamp", "sec_per_tick"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
FRAME = (0x55, 0x55, 0x55)
WINDOW_W = 1000  # two panels a row; the height follows the panel count (screenshot() callers)


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


# ---------------------------------------------------------------- page structure

class StrictHTML(html.parser.HTMLParser):
    """Every element but the void ones closed, in order; void ones never closed."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.counts = [], [], {}

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        names = [a for a, _ in attrs]
        if len(names) != len(set(names)):
            self.errors.append(f"<{tag}> repeats an attribute")
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in VOID and tag not in SVG_EMPTY:
            self.errors.append(f"<{tag}/> at {self.getpos()} is not a void element")

    def handle_endtag(self, tag):
        if tag in VOID:
            self.errors.append(f"</{tag}> closes a void element at {self.getpos()}")
        elif not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"</{tag}> at {self.getpos()} does not close {self.stack[-1] if self.stack else 'anything'}")
        else:
            self.stack.pop()


SVG_EMPTY = {"line", "path", "rect", "circle", "polyline"}


def parse_page(text):
    check(text.startswith("<!DOCTYPE html>"), "the page does not start with <!DOCTYPE html>")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise Failure(f"the page is not well-formed: {e}")
    p = StrictHTML()
    p.feed(text)
    p.close()
    check(not p.errors, "HTML structure: " + "; ".join(p.errors[:5]))
    check(not p.stack, f"unclosed elements: {p.stack}")
    for t in ("html", "head", "body", "title"):
        check(p.counts.get(t) == 1, f"<{t}> appears {p.counts.get(t, 0)} times")
    return root


def self_contained(root, text, run_dir):
    check("<script" not in text and "<link" not in text and "<iframe" not in text, "the page loads scripts or links")
    check("url(" not in text and "@import" not in text, "the style sheet loads something")
    for el in root.iter():
        for attr in ("src", "href"):
            v = el.get(attr)
            if v is None:
                continue
            check(":" not in v and not v.startswith("/"), f"{attr}={v!r} leaves the run folder")
            check(os.path.isfile(os.path.join(run_dir, v)), f"{attr}={v!r}: no such file in {run_dir}")
    # Images are linked to their files, not copied into the page.
    for a in root.iter("a"):
        for img in a.iter("img"):
            check(img.get("src") == a.get("href"), "an image is not linked to its own file")


def panels(root):
    """[(svg element, {data-key: path element})] in document order."""
    out = []
    for svg in root.iter("svg"):
        if svg.get("class") != "plot":
            continue
        out.append((svg, {p.get("data-key"): p for p in svg.iter("path") if p.get("class") == "curve"}))
    return out


def path_runs(d):
    """An SVG path of M/L/h0 commands as runs of points."""
    runs = []
    for cmd, x, y in re.findall(r"([ML])([-\d.]+) ([-\d.]+)", d):
        if cmd == "M":
            runs.append([])
        check(runs, f"a path starts with L: {d[:40]}")
        runs[-1].append((float(x), float(y)))
    check(re.fullmatch(r"(\s*([ML][-\d.]+ [-\d.]+|h0))*\s*", d), f"unexpected path commands: {d[:80]}")
    return runs


def read_stats(run_dir):
    rows = []
    for name in ("stats-earlier.jsonl", "stats.jsonl"):
        path = os.path.join(run_dir, name)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                try:
                    j = json.loads(line)
                except ValueError:
                    continue
                if isinstance(j, dict) and isinstance(j.get("kimg"), (int, float)):
                    rows.append(j)
    return rows


def value(row, key):
    v = row.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def axis_frac(lo, hi, log, v):
    if log:
        return (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    return (v - lo) / (hi - lo)


SKIP = "skip"  # a row without the key: no point, and no gap


def expected_points(svg, rows, key):
    """Per row, the point the data puts in the SVG, None for a gap, or SKIP."""
    px, py, pw, ph = (float(v) for v in svg.get("data-plot").split())
    x0, x1 = (float(v) for v in svg.get("data-x").split())
    y0, y1 = (float(v) for v in svg.get("data-y").split())
    log = svg.get("data-scale") == "log"
    pts = []
    for r in rows:
        if key not in r:
            pts.append(SKIP)
            continue
        v = value(r, key)
        if v is None or (log and v <= 0):
            pts.append(None)
            continue
        pts.append((px + axis_frac(x0, x1, False, r["kimg"]) * pw, py + (1 - axis_frac(y0, y1, log, v)) * ph))
    return pts


def check_curves(root, rows):
    """One curve per numeric statistic with a finite value; one point per such
    tick, where the data puts it; a new run of points after each gap."""
    keys = []
    for r in rows:
        for k, v in r.items():
            if k not in keys and k not in AXIS_KEYS and value(r, k) is not None:
                keys.append(k)
    found = {}
    for svg, curves in panels(root):
        x0, x1 = (float(v) for v in svg.get("data-x").split())
        y0, y1 = (float(v) for v in svg.get("data-y").split())
        for key, path in curves.items():
            check(key not in found, f"{key} has two curves")
            found[key] = svg
            vals = [value(r, key) for r in rows]
            fin = [v for v in vals if v is not None]
            check(x0 <= min(r["kimg"] for r in rows) and max(r["kimg"] for r in rows) <= x1, f"{key}: kimg outside the x axis")
            check(y0 <= min(fin) and max(fin) <= y1, f"{key}: values outside the y axis [{y0}, {y1}]")
            exp = expected_points(svg, rows, key)
            want_runs, cur = [], None
            for p in exp:
                if p is SKIP:
                    continue
                if p is None:
                    cur = None
                else:
                    if cur is None:
                        cur = []
                        want_runs.append(cur)
                    cur.append(p)
            got = path_runs(path.get("d"))
            check([len(r) for r in got] == [len(r) for r in want_runs],
                  f"{key}: runs of points {[len(r) for r in got]}, the data has {[len(r) for r in want_runs]}")
            for gr, wr in zip(got, want_runs):
                for (gx, gy), (wx, wy) in zip(gr, wr):
                    check(abs(gx - wx) <= 0.051 and abs(gy - wy) <= 0.051, f"{key}: point ({gx}, {gy}), expected ({wx:.2f}, {wy:.2f})")
    missing = [k for k in keys if k not in found]
    check(not missing, f"statistics without a curve: {missing}")
    return found


# ---------------------------------------------------------------- screenshots

def read_png(path):
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            check(depth == 8 and ctype in (2, 6) and interlace == 0, f"PNG kind {depth}/{ctype}/{interlace} not handled")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    return w, h, bpp, unfilter(zlib.decompress(idat), h, w * bpp, bpp)


def unfilter(raw, h, stride, bpp):
    """PNG's per-row filters undone (0 none, 1 sub, 2 up, 3 average, 4 Paeth).
    Up adds whole rows at once as big integers; a sub row that is flat after
    its first pixel (most of a page) is that pixel repeated."""
    lo7 = int.from_bytes(b"\x7f" * stride, "little")
    hi1 = int.from_bytes(b"\x80" * stride, "little")
    zeros = bytes(stride)
    out, prev = bytearray(), bytes(stride)
    for y in range(h):
        ft, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ft == 1:
            if line[bpp:] == zeros[bpp:]:
                line = line[:bpp] * (stride // bpp)
            else:
                for i in range(bpp, stride):
                    line[i] = (line[i] + line[i - bpp]) & 255
        elif ft == 2:
            x, p = int.from_bytes(line, "little"), int.from_bytes(prev, "little")
            line = bytearray((((x & lo7) + (p & lo7)) ^ ((x ^ p) & hi1)).to_bytes(stride, "little"))
        elif ft == 3:
            for i in range(stride):
                line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        elif ft == 4:
            for i in range(stride):
                a, b = (line[i - bpp], prev[i - bpp]) if i >= bpp else (0, 0)
                u = prev[i]
                pa, pb, pc = abs(u - b), abs(a - b), abs(a + u - 2 * b)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else u if pb <= pc else b)) & 255
        out += line
        prev = line
    return bytes(out)


class Picture:
    def __init__(self, path):
        self.w, self.h, self.bpp, self.px = read_png(path)

    def at(self, x, y):
        i = (y * self.w + x) * self.bpp
        return tuple(self.px[i:i + 3])


def rgb(hexcolor):
    return tuple(int(hexcolor[i:i + 2], 16) for i in (1, 3, 5))


def shade_of(p, c):
    """p is c, or c blended with white by at most 55% (anti-aliased edges)."""
    d = [255 - ci for ci in c]
    dd = sum(x * x for x in d)
    t = sum((pi - ci) * di for pi, ci, di in zip(p, c, d)) / dd if dd else 0
    res = math.sqrt(sum((pi - ci - t * di) ** 2 for pi, ci, di in zip(p, c, d)))
    return -0.05 <= t <= 0.55 and res < 28


def color_near(pic, x, y, c, r):
    xi, yi = int(round(x)), int(round(y))
    for yy in range(yi - r, yi + r + 1):
        for xx in range(xi - r, xi + r + 1):
            if 0 <= xx < pic.w and 0 <= yy < pic.h and shade_of(pic.at(xx, yy), c):
                return True
    return False


def find_frames(pic, pw, ph):
    """Top-left pixels of the plot frames: a horizontal run of the frame colour
    pw+1 long, the same run ph rows below, and a vertical run joining them."""
    frame = bytes(FRAME) + (b"\xff" if pic.bpp == 4 else b"")
    run = re.compile(b"(?:" + re.escape(frame) + b"){%d,}" % pw)
    row_bytes = pic.w * pic.bpp
    frames = []
    for y in range(pic.h - ph):
        row = pic.px[y * row_bytes:(y + 1) * row_bytes]
        for m in run.finditer(row):
            if m.start() % pic.bpp:
                continue
            x = m.start() // pic.bpp
            below = pic.px[(y + ph) * row_bytes + x * pic.bpp:(y + ph) * row_bytes + (x + pw) * pic.bpp]
            if below == frame * pw and all(pic.at(x, yy) == FRAME for yy in range(y, y + ph)):
                frames.append((x, y))
    return frames


def seg_dist(p, a, b):
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    t = 0 if dx == dy == 0 else max(0, min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def polyline_segments(pts):
    """The segments a curve draws, each point also as a segment of its own."""
    segs, prev = [], None
    for p in pts:
        if p is SKIP:
            continue
        if p is not None:
            segs.append((prev if prev is not None else p, p))
        prev = p
    return segs


def screenshot(chromium, page, out_png, panel_count):
    """The page's top as Chromium draws it: tall enough for every panel, no
    taller (decoding the PNG in Python is the slow part)."""
    height = 450 + 300 * ((panel_count + 1) // 2)
    with tempfile.TemporaryDirectory() as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--force-device-scale-factor=1", "--hide-scrollbars", f"--user-data-dir={profile}",
               f"--screenshot={out_png}", f"--window-size={WINDOW_W},{height}", "file://" + os.path.abspath(page)]
        # Its crash reports and dconf cache go under HOME and the XDG folders
        # whatever --user-data-dir says: kept in the profile, out of the user's.
        env = dict(os.environ, HOME=profile, XDG_CONFIG_HOME=os.path.join(profile, "config"),
                   XDG_CACHE_HOME=os.path.join(profile, "cache"))
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, env=env)
        check(r.returncode == 0 and os.path.exists(out_png),
              f"chromium failed ({r.returncode}): {r.stdout.decode(errors='replace')[-800:]}")
    return Picture(out_png)


def check_picture(root, rows, pic, gaps=(), bridges=()):
    """Not blank; every plot frame on screen; each curve's colour where the data
    puts its points (unless another curve passes there); none at the gaps
    listed as (key, row) where the line would run if the gap were not there;
    the line's colour across the rows without the key listed in bridges."""
    white = sum(1 for i in range(0, len(pic.px), pic.bpp * 7) if pic.px[i:i + 3] == b"\xff\xff\xff")
    total = len(range(0, len(pic.px), pic.bpp * 7))
    check(white < 0.97 * total, f"the picture is blank ({white} of {total} sampled pixels white)")
    plots = panels(root)
    pw, ph = (int(v) for v in plots[0][0].get("data-plot").split()[2:])
    frames = sorted(find_frames(pic, pw, ph), key=lambda f: (f[1], f[0]))
    check(len(frames) == len(plots), f"{len(frames)} plot frames on screen, the page has {len(plots)}")
    checked = 0
    for (svg, curves), (fx, fy) in zip(plots, frames):
        px, py = (float(v) for v in svg.get("data-plot").split()[:2])
        ox, oy = fx - px, fy - py  # the SVG's origin on the screen
        keys = list(curves)
        pts = {k: expected_points(svg, rows, k) for k in keys}
        for i, key in enumerate(keys):
            c = rgb(curves[key].get("stroke"))
            others = [s for k in keys if k != key for s in polyline_segments(pts[k])]
            drawn = 0
            for p in pts[key]:
                if p is None or p is SKIP:
                    continue
                if p[0] - px < 3 or p[1] - py < 3 or px + pw - p[0] < 3 or py + ph - p[1] < 3:
                    continue  # on the frame
                if any(seg_dist(p, a, b) < 5 for a, b in others):
                    continue  # another curve passes here
                check(color_near(pic, ox + p[0], oy + p[1], c, 2),
                      f"{key}: no {curves[key].get('stroke')} near ({ox + p[0]:.0f}, {oy + p[1]:.0f}) on the screenshot")
                drawn += 1
            checked += drawn
            for gkey, row in gaps:
                if gkey != key:
                    continue
                a, b = pts[key][row - 1], pts[key][row + 1]
                mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
                check(not color_near(pic, ox + mid[0], oy + mid[1], c, 1),
                      f"{key}: a line across the gap at row {row}")
            for bkey, row in bridges:
                if bkey != key:
                    continue
                a, b = pts[key][row - 1], pts[key][row + 1]
                mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
                check(color_near(pic, ox + mid[0], oy + mid[1], c, 2),
                      f"{key}: no line across row {row}, which does not have the key")
    check(checked > 0, "no point could be checked on the screenshot")
    return checked


# ---------------------------------------------------------------- a made-up run

def write_png(path, w, h, rgb_fn):
    raw = b"".join(b"\x00" + bytes(v for x in range(w) for v in rgb_fn(x, y)) for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


NAN_ROW, MISSING_ROW = 5, 8


def made_up_run(d, total_kimg):
    """12 ticks of known statistics: losses, scores, R1 falling over three
    decades (a log scale), a key no table knows (loss_lpips) with a null at
    NAN_ROW, loss_D_fake missing at MISSING_ROW, a regularizer that never ran
    (pl_penalty, always null), and a cut-off last line."""
    os.makedirs(d)
    opts = {"dataset": "fashion-mnist", "dataset_size": 60000, "resolution": 32, "channels": 1, "c_dim": 0,
            "total_kimg": total_kimg, "device": "cpu", "device_name": "Test CPU (2 threads)", "resume": "",
            "spec": {"cfg": "tiny", "batch": 4, "gamma": 0.05}}
    with open(os.path.join(d, "training_options.json"), "w") as f:
        json.dump(opts, f)
    rows = []
    for t in range(12):
        k = 0.5 + t
        r = {"tick": t, "kimg": k, "total_sec": 30.0 * k, "timestamp": 1.7e9 + 30.0 * k, "sec_per_tick": 30.0,
             "sec_per_kimg": 30.0, "loss_G": 2.0 - 0.1 * t, "loss_D_real": 0.2 + 0.01 * t, "loss_D_fake": 0.3 + 0.01 * t,
             "scores_real": 1.0 + 0.2 * t, "scores_fake": -1.0 - 0.2 * t, "r1_penalty": 10.0 ** (1 - 0.3 * t),
             "maxmem_gb": 0.5, "reserved_gb": 0.75, "loss_lpips": 0.2 + 0.05 * (t % 4), "pl_penalty": None}
        if t == NAN_ROW:
            r["loss_lpips"] = None
        if t == MISSING_ROW:
            del r["loss_D_fake"]
        rows.append(r)
    with open(os.path.join(d, "stats.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
        f.write('{"tick": 12, "kimg": 12.5, "loss_G"')  # a crash mid-line
    write_png(os.path.join(d, "reals.png"), 16, 8, lambda x, y: (x * 16, y * 32, 128))
    for k in range(0, 12):
        write_png(os.path.join(d, f"fakes{k:06d}.png"), 16, 8, lambda x, y: (k * 20, x * 16, y * 32))
    return rows


def page_of(make_report, run_dir):
    r = subprocess.run([make_report, run_dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(r.returncode == 0, f"make_report {run_dir}: {r.stderr.decode()}")
    with open(os.path.join(run_dir, "report.html"), encoding="utf-8") as f:
        return f.read()


def test_made_up(make_report, chromium, tmp):
    d = os.path.join(tmp, "00007-made-up")
    rows = made_up_run(d, total_kimg=11.5)
    text = page_of(make_report, d)
    root = parse_page(text)
    self_contained(root, text, d)
    found = check_curves(root, rows)
    check(set(found) == {"loss_G", "loss_D_real", "loss_D_fake", "scores_real", "scores_fake", "r1_penalty",
                         "sec_per_kimg", "maxmem_gb", "reserved_gb", "loss_lpips"}, f"curves: {sorted(found)}")
    check(found["r1_penalty"].get("data-scale") == "log", "R1 spans three decades but is not on a log scale")
    check(found["loss_G"].get("data-scale") == "linear", "the losses are not on a linear scale")
    check(found["loss_G"] is found["loss_D_fake"], "G and D losses are not in one panel")
    check("pl_penalty" in text and "No finite value" in text, "the regularizer that never ran is not noted")
    check("1 line(s) of the stats could not be read" in text, "the cut-off line is not noted")
    for s in ("fashion-mnist: 60000 images, 32x32, 1 channel, labels: none", "Test CPU (2 threads) (cpu)",
              "Finished: kimg 11.5 of 11.5", "training time 5m 45s"):
        check(s in text, f"the page lacks {s!r}")
    imgs = [i.get("src") for i in root.iter("img")]
    check(imgs[:2] == ["reals.png", "fakes000011.png"], f"reals and the newest fakes first: {imgs[:2]}")
    check(imgs[2] == "fakes000000.png" and len(imgs) == 2 + 8, f"a row of 8 earlier grids from the first: {imgs[2:]}")
    check(root.find(".//{*}meta[@http-equiv]") is None and 'http-equiv' not in text, "a finished page reloads itself")

    # Not finished: the estimate of the time left at the recent speed (30 s/kimg).
    d2 = os.path.join(tmp, "00008-made-up")
    made_up_run(d2, total_kimg=21.5)
    text2 = page_of(make_report, d2)
    parse_page(text2)
    check("Not finished: kimg 11.5 of 21.5" in text2 and "About 5m 00s left at 30 s/kimg" in text2,
          "no estimate of the time left (10 kimg at 30 s/kimg)")

    if chromium:
        pic = screenshot(chromium, os.path.join(d, "report.html"), os.path.join(tmp, "made_up.png"), len(panels(root)))
        n = check_picture(root, rows, pic, gaps=[("loss_lpips", NAN_ROW)], bridges=[("loss_D_fake", MISSING_ROW)])
        # The check can fail: the same picture against other data for loss_lpips does.
        other = [dict(r, loss_lpips=None if r["loss_lpips"] is None else 0.55 - r["loss_lpips"]) for r in rows]
        try:
            check_picture(root, other, pic)
        except Failure:
            pass
        else:
            raise Failure("the picture check passes for data that is not on the page")
        print(f"made-up run: {n} points found on the screenshot")


def test_run(make_report, chromium, run_dir, tmp):
    """A real run folder: the page training left is well-formed, has every
    statistic's curve with one point per tick, and is what make_report writes."""
    page = os.path.join(run_dir, "report.html")
    check(os.path.exists(page), f"no report.html in {run_dir}")
    with open(page, encoding="utf-8") as f:
        text = f.read()
    root = parse_page(text)
    self_contained(root, text, run_dir)
    rows = read_stats(run_dir)
    check(rows, f"{run_dir}: no statistics")
    found = check_curves(root, rows)
    check("Finished" in text, "the last page of a finished run does not say so")
    with open(os.path.join(run_dir, "training_options.json")) as f:
        opts = json.load(f)
    if opts.get("resume_kimg", 0) > 0:
        # Resumed: the curves begin with the earlier run's ticks up to the checkpoint.
        earlier = os.path.join(run_dir, "stats-earlier.jsonl")
        check(os.path.exists(earlier), "a resumed run without stats-earlier.jsonl")
        with open(earlier) as f:
            ek = [json.loads(line)["kimg"] for line in f]
        check(ek and ek[0] < opts["resume_kimg"] and ek[-1] == opts["resume_kimg"],
              f"stats-earlier.jsonl holds kimg {ek}, the run resumed at {opts['resume_kimg']}")
        check('class="resume"' in text, "the resume point is not marked")
    fakes = sorted(f for f in os.listdir(run_dir) if re.fullmatch(r"fakes\d+\.png", f))
    check(fakes and any(i.get("src") == fakes[-1] for i in root.iter("img")), "the newest fakes grid is not shown")
    copy = os.path.join(tmp, os.path.basename(os.path.normpath(run_dir)))
    # A metric file appended after the run ended (calc_metrics on its snapshot)
    # puts its curve on a page made now, not on the one training left.
    written = os.path.getmtime(page)
    later = lambda folder, names: [n for n in names if re.fullmatch(r"metric-.*\.jsonl", n) and
                                   os.path.getmtime(os.path.join(folder, n)) > written]
    shutil.copytree(run_dir, copy, ignore=later)
    again = page_of(make_report, copy)
    check(again.replace(os.path.abspath(copy), "<dir>") == text.replace(os.path.abspath(run_dir), "<dir>"),
          "make_report writes another page than training left")
    if chromium:
        pic = screenshot(chromium, page, os.path.join(tmp, "run.png"), len(panels(root)))
        n = check_picture(root, rows, pic)
        print(f"{run_dir}: {len(found)} curves, {len(rows)} ticks, {n} points found on the screenshot")
    else:
        print(f"{run_dir}: {len(found)} curves, {len(rows)} ticks")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--make-report", required=True)
    ap.add_argument("--run", nargs="*", help="real run folders to check")
    ap.add_argument("--chromium", help="render with this Chromium (exit 77 when it is missing)")
    ap.add_argument("--keep", help="keep the files here")
    a = ap.parse_args()
    if a.chromium and not (os.path.isfile(a.chromium) and os.access(a.chromium, os.X_OK)):
        print(f"SKIP: no Chromium at {a.chromium} (Debian package chromium: scripts/install_deps.sh --chromium)")
        return 77
    if a.run is not None and not a.run:
        print("FAIL: --run names no run folder")
        return 1
    tmp = a.keep or tempfile.mkdtemp(prefix="gf_report_")
    os.makedirs(tmp, exist_ok=True)
    try:
        if a.run:
            for i, d in enumerate(a.run):
                test_run(a.make_report, a.chromium, d, os.path.join(tmp, str(i)))
        else:
            test_made_up(a.make_report, a.chromium, tmp)
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
