"""The --json file of the PyTorch-side benchmark scripts (torch_vs_ganforge.py,
torch_augment.py): their results plus the machine they ran on (and the GPU's
name for a CUDA run), written to a temporary name and renamed. check_path,
which cpu_vs_pytorch_table.py uses too, refuses an unwritable one up front."""
import json
import os
import platform


def check_path(parser, path):
    """Refuses (parser.error: one line, exit 2) a --json path that could not be
    written, before any benchmark runs: write_results comes at the end of a
    run that can take an hour."""
    if not path:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        parser.error(f"--json {path}: is a folder, not a file name")
    if not os.path.isdir(folder):
        parser.error(f"--json {path}: no folder {folder}")
    # A trial of write_results' temporary file: os.access says yes to root, and on /proc.
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        open(tmp, "w").close()
        os.remove(tmp)
    except OSError as e:
        parser.error(f"--json {path}: cannot write in {folder}: {e.strerror}")


def write_results(path, out, torch, device):
    """Writes out (a dict) with "torch_version" and "machine" added to path."""
    out = dict(out, torch_version=torch.__version__,
               machine=dict(platform=platform.platform(), processor=platform.processor(), cpu_count=os.cpu_count()))
    if device.startswith("cuda"):
        out["machine"]["gpu"] = torch.cuda.get_device_name(torch.device(device))
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, path)
    print(f"wrote {path}")
