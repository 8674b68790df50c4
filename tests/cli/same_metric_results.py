"""Compares the metric lines of two runs' metric-<name>.jsonl files, for the
program tests, with the standard library only:
  same_metric_results.py A.jsonl B.jsonl
exits 0, printing "same results" and the lines' snapshots, their results and
their total_time, when both files hold as many lines with equal "results"
(every value the same float, as JSON writes it) for the same snapshot_pkl in
the same order; otherwise prints the first difference and exits 1."""
import json
import sys


def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def main():
    a_path, b_path = sys.argv[1:3]
    a, b = lines(a_path), lines(b_path)
    if not a or len(a) != len(b):
        print(f"same_metric_results: {a_path} has {len(a)} lines, {b_path} {len(b)}")
        return 1
    for i, (x, y) in enumerate(zip(a, b)):
        for key in ("snapshot_pkl", "results"):
            if x.get(key) != y.get(key):
                print(f"same_metric_results: line {i + 1} differs in {key}: {x.get(key)} and {y.get(key)}")
                return 1
    for x, y in zip(a, b):
        print(f"{x['snapshot_pkl']}: {json.dumps(x['results'])}, total_time {x.get('total_time')} and {y.get('total_time')} s")
    print("same results")
    return 0


if __name__ == "__main__":
    sys.exit(main())
