"""Checks that fields of a run's training options agree, for the program
tests, with the standard library only:
  same_options.py FILE A=B [C=D ...]
FILE is a training_options.json, or a file holding train_stylegan --dry-run's
output (the JSON after "Training options:"); A, B are dotted paths
("G_kwargs.channel_base"). Exits 0 when every pair holds equal values, else
prints the first pair that differs and exits 1."""
import json
import sys


def options(path):
    with open(path) as f:
        text = f.read()
    mark = "Training options:\n"
    if mark in text:  # --dry-run: the JSON object ends at the first line that is exactly "}"
        text = text[text.index(mark) + len(mark):]
        text = text[:text.index("\n}\n") + 2]
    return json.loads(text)


def field(obj, dotted):
    for key in dotted.split("."):
        obj = obj[key]
    return obj


def main(argv):
    if len(argv) < 3 or any("=" not in p for p in argv[2:]):
        print(__doc__, file=sys.stderr)
        return 2
    opts = options(argv[1])
    for pair in argv[2:]:
        a, b = pair.split("=", 1)
        if field(opts, a) != field(opts, b):
            print(f"{argv[1]}: {a} = {field(opts, a)!r} but {b} = {field(opts, b)!r}")
            return 1
    print("same options")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
