"""Compares named tensors of two ganforge .bin files, for the program tests:
  same_tensors.py A.bin B.bin --same N1,N2,... [--differ N3,...]
exits 0 when every --same tensor is bit-identical in both files and every
--differ tensor is not; otherwise prints the first that breaks the rule and
exits 1. Needs Python 3 with NumPy and PyTorch (tools/golden_io.py)."""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import golden_io  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--same", default="")
    p.add_argument("--differ", default="")
    args = p.parse_args()
    a, _ = golden_io.read_safetensors(args.a)
    b, _ = golden_io.read_safetensors(args.b)
    for names, want_same in ((args.same, True), (args.differ, False)):
        for n in filter(None, names.split(",")):
            if n not in a or n not in b:
                print(f"same_tensors: {n} is missing from {args.a if n not in a else args.b}")
                return 1
            same = a[n].shape == b[n].shape and bool((a[n].view(-1).numpy().view("u1") == b[n].view(-1).numpy().view("u1")).all())
            if same != want_same:
                print(f"same_tensors: {n} {'differs' if want_same else 'is the same'} in {args.a} and {args.b}")
                return 1
    print("same_tensors: as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
