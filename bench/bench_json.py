"""The --json file of the PyTorch-side benchmark scripts (torch_vs_ganforge.py,
torch_augment.py): their results plus the machine they ran on (and the GPU's
name for a CUDA run), written to a temporary name and renamed."""
import json
import os
import platform


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
