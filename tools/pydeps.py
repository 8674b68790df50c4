"""What the Python tools share before their heavy imports (standard library only).

require(): a tool run by a Python without NumPy or PyTorch says so in one
line and exits 1, instead of ending in a traceback. The first python3 on a
PATH is often not the one that has them; Debian's python3-torch (installed by
scripts/install_deps.sh --torch) belongs to /usr/bin/python3.

OneLineParser, integer(), number(): argparse with the C++ programs' rules
(train/cli.h): a numeric flag declares its range, and a bad value ends with
one line naming the flag and what it accepts.
"""
import argparse
import os
import importlib.util
import math
import sys

_NAMES = {"numpy": "NumPy", "torch": "PyTorch", "torchvision": "torchvision", "PIL": "Pillow (python3-pil)",
          "sklearn": "scikit-learn (python3-sklearn)"}


def require(tool, *modules):
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if not missing:
        return
    names = " and ".join(_NAMES.get(m, m) for m in missing)
    version = ".".join(map(str, sys.version_info[:3]))
    pip = f"pip install {' '.join(missing)}"
    if sys.executable == "/usr/bin/python3":
        how = f"install Debian's with scripts/install_deps.sh --torch (or {pip})"
    else:
        how = f"run it with /usr/bin/python3 after scripts/install_deps.sh --torch (or {pip} for this Python)"
    sys.stderr.write(f"{tool}: error: needs {names}, which {sys.executable} (Python {version}) lacks: {how}\n")
    sys.exit(1)


class OneLineParser(argparse.ArgumentParser):
    """Errors as one line "<prog>: error: ..." (exit 2, argparse's code), no usage block."""

    def error(self, message):
        sys.stderr.write(f"{self.prog.split()[0]}: error: {message} (see --help)\n")
        sys.exit(2)


def output_file(doc, default):
    """The one argument of a golden-data script: the file to write, default
    `default`. --help prints doc's first paragraph; anything else that starts
    with a dash is refused in one line, so no file is ever named after a flag."""
    p = OneLineParser(description=doc.split("\n\n")[0])
    p.add_argument("out", nargs="?", default=default, help=f"the file to write (default {os.path.relpath(default)})")
    return p.parse_args().out


def text(kind):
    """An argparse type: any text but "" (an unset "$VAR"), which was read as
    "not given"; refused as "is empty; give <kind>" ("a file name", "a path"),
    as the C++ programs' train/cli.h refuses it."""
    def parse(value):
        if value == "":
            raise argparse.ArgumentTypeError(f"is empty; give {kind}")
        return value
    return parse


def _show(v):
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def integer(lo, hi):
    """An argparse type: a whole number in [lo, hi]."""
    accepts = f"an integer in [{lo}, {hi}]"

    def parse(text):
        try:
            v = int(text, 10)
        except ValueError:
            v = None
        if v is None or not lo <= v <= hi or text.strip() != text or "_" in text:
            raise argparse.ArgumentTypeError(f"expects {accepts}, got '{text}'")
        return v
    parse.accepts = accepts
    return parse


def number(lo=-math.inf, hi=math.inf, lo_open=False):
    """An argparse type: a finite number in [lo, hi] (or (lo, hi])."""
    if math.isfinite(lo) and math.isfinite(hi):
        accepts = f"a number in {'(' if lo_open else '['}{_show(lo)}, {_show(hi)}]"
    elif math.isfinite(lo):
        accepts = f"a finite number {'>' if lo_open else '>='} {_show(lo)}"
    else:
        accepts = "a finite number"

    def parse(text):
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        inside = math.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi
        if not inside or text.strip() != text or "_" in text:
            raise argparse.ArgumentTypeError(f"expects {accepts}, got '{text}'")
        return v
    parse.accepts = accepts
    return parse
