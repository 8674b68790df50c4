"""The --json file of the PyTorch-side benchmark scripts (torch_vs_ganforge.py,
torch_augment.py): their results plus the machine they ran on (and the GPU's
name for a CUDA run), written to a temporary name and renamed. check_path,
which cpu_vs_pytorch_table.py uses too, refuses an unwritable one up front."""
import json
import os
import platform
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
from interrupts import exclusive_temporary  # noqa: E402  (standard library only)
from output_folder import not_a_plain_file  # noqa: E402


def check_path(parser, path):
    """Refuses (parser.error: one line, exit 2) a --json path that could not be
    written, before any benchmark runs: write_results comes at the end of a
    run that can take an hour."""
    if not path:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        parser.error(f"--json {path}: is a folder, not a file name")
    if not_a_plain_file(path):
        parser.error(f"--json {path}: {not_a_plain_file(path)}")
    if not os.path.isdir(folder):
        parser.error(f"--json {path}: no folder {folder}")
    # A trial of write_results' temporary file: os.access says yes to root, and on /proc.
    try:
        with exclusive_temporary(path) as tmp:
            os.remove(tmp)
    except OSError as e:
        parser.error(f"--json {path}: cannot write in {folder}: {e.strerror}")


def write_json(path, value):
    """json.dump(value, indent=1) to path, through golden_io's writer (a
    temporary renamed; links and nodes refused). After the benchmarks, when
    PyTorch, which golden_io imports, has been required."""
    from golden_io import write_atomically
    write_atomically(path, [json.dumps(value, indent=1).encode()])
    print(f"wrote {path}")


def write_results(path, out, torch, device):
    """Writes out (a dict) with "torch_version" and "machine" added to path."""
    out = dict(out, torch_version=torch.__version__,
               machine=dict(platform=platform.platform(), processor=platform.processor(), cpu_count=os.cpu_count()))
    if device.startswith("cuda"):
        out["machine"]["gpu"] = torch.cuda.get_device_name(torch.device(device))
    write_json(path, out)
