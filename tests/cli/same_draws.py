"""The draws two recordings hold, for the program tests:
  same_draws.py DIR_A DIR_B
reads every draws-mb*.bin of each folder (a multi-process run writes one
file per minibatch and rank, an in-process run one per minibatch) and exits
0 when both hold the same names with the same dtype, shape and bytes, and
no name holds two values within a folder; else prints the first difference
and exits 1."""
import glob
import os
import sys

from same_tensors import tensors


def draws(folder):
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "draws-mb*.bin"))):
        for name, value in tensors(path).items():
            if name in out and out[name] != value:
                sys.exit("%s: '%s' holds two values" % (folder, name))
            out[name] = value
    if not out:
        sys.exit("%s: no draws" % folder)
    return out


def main(a, b):
    da, db = draws(a), draws(b)
    only = sorted(set(da) ^ set(db))
    if only:
        print("'%s' is in one folder only (%d such names)" % (only[0], len(only)))
        return 1
    differ = [k for k in sorted(da) if da[k] != db[k]]
    if differ:
        print("'%s' differs (%d such names)" % (differ[0], len(differ)))
        return 1
    print("the same %d draws" % len(da))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
