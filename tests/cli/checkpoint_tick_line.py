#!/usr/bin/env python3
"""Checks a run folder's checkpoint-tick.json (train/report.h's
kCheckpointTickFile): the stats.jsonl line of the tick that wrote
checkpoint.bin, as it stood before that tick's metrics. Its kimg must be
the last line's (a finished run's last checkpoint is its last tick's), the
stats.jsonl line of the same tick and kimg must hold every field of it with
the same value, and each KEY
given must be in that line and not in the file's (the metric results come
after the checkpoint). Prints "checkpoint tick line: as expected"; exits 1
naming what differs. Standard library only.
  checkpoint_tick_line.py RUN_DIR [KEY...]"""
import json
import os
import sys


def main(argv):
    if len(argv) < 1:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    run, after = argv[0], argv[1:]
    with open(os.path.join(run, "checkpoint-tick.json")) as f:
        row = json.loads(f.readline())
    with open(os.path.join(run, "stats.jsonl")) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    if lines[-1].get("kimg") != row.get("kimg"):
        print(f"checkpoint_tick_line.py: the file's kimg {row.get('kimg')} is not the last tick's "
              f"{lines[-1].get('kimg')} (the final checkpoint's)", file=sys.stderr)
        return 1
    same_tick = [l for l in lines if l.get("tick") == row.get("tick") and l.get("kimg") == row.get("kimg")]
    if len(same_tick) != 1:
        print(f"checkpoint_tick_line.py: {len(same_tick)} stats.jsonl lines of tick {row.get('tick')} "
              f"at kimg {row.get('kimg')}", file=sys.stderr)
        return 1
    line = same_tick[0]
    differ = sorted(k for k in row if line.get(k) != row[k])
    if differ:
        print(f"checkpoint_tick_line.py: the line and the file differ in {differ}", file=sys.stderr)
        return 1
    misplaced = sorted(k for k in after if k not in line or k in row)
    if misplaced:
        print(f"checkpoint_tick_line.py: {misplaced} should be in the line and not in the file", file=sys.stderr)
        return 1
    print("checkpoint tick line: as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
