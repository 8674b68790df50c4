#!/usr/bin/python3
"""pSp's scripts/calc_losses_on_images.py in PyTorch and PIL, written from
its semantics, to check `psp losses`: LPIPS (pSp's AlexNet LPIPS, weights
from a ganforge .bin) or L2 (torch's MSELoss) of each result against its
ground truth, both opened with PIL's .convert('RGB'), resized to 256x256
(PIL bilinear, as torchvision's Resize on a PIL image), ToTensor (x / 255
in float32) and Normalize(0.5, 0.5); one pair at a time; a DataLoader's
drop_last over batches of --batch_size; the ground truth at the result's
name with '.png' written '.jpg'. Listed in sorted order (the official:
os.listdir's), as `psp losses` documents.

Usage: /usr/bin/python3 tools/reference/psp_losses_reference.py --mode lpips|l2
           --data_path RESULTS --gt_path GT [--lpips FILE.bin] [--batch_size N]
           --ours METRICS_DIR
METRICS_DIR is the inference_metrics folder `psp losses` wrote. Prints one
line and exits 0 when its stat_<mode>.txt is the reference's and its
scores_<mode>.json has the same names with values within 1e-4 relative
error; else names the first difference and exits 1."""
import json
import os
import sys

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tools/: the shared helpers
sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), TOOLS, os.path.join(TOOLS, "reference")]
import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()
import pydeps  # noqa: E402  (standard library only)
pydeps.require("psp_losses_reference", "numpy", "PIL", "torch")

import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402
import torch  # noqa: E402

import golden_io  # noqa: E402
import perceptual_reference as pr  # noqa: E402


def load(path):
    img = PIL.Image.open(path).convert("RGB").resize((256, 256), PIL.Image.BILINEAR)
    x = torch.from_numpy(np.array(img)).permute(2, 0, 1).float().div(255)
    return ((x - 0.5) / 0.5)[None]


def lpips_from_bin(path):
    tensors, meta = golden_io.read_safetensors(path)
    net = pr.LPIPS(tuple(json.loads(meta["lpips_kwargs"])["channels"]))
    missing, unexpected = net.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
    assert sorted(missing) == ["net.mean", "net.std"] and not unexpected, (missing, unexpected)  # the fixed buffers
    return net.eval()


def reference(args):
    names = sorted(f for f in os.listdir(args.data_path) if f.endswith(".jpg") or f.endswith(".png"))
    names = names[:len(names) // args.batch_size * args.batch_size]  # drop_last
    loss_func = lpips_from_bin(args.lpips) if args.mode == "lpips" else torch.nn.MSELoss()
    scores = {}
    with torch.no_grad():
        for f in names:
            gt = os.path.join(args.gt_path, f).replace(".png", ".jpg")
            if not os.path.exists(gt):
                gt = os.path.join(args.gt_path, f)
            scores[f] = float(loss_func(load(os.path.join(args.data_path, f)), load(gt)))
    values = list(scores.values())
    return scores, "Average loss is {:.2f}+-{:.2f}".format(np.mean(values), np.std(values))


def main():
    p = pydeps.OneLineParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=["lpips", "l2"], required=True)
    p.add_argument("--data_path", required=True)
    p.add_argument("--gt_path", required=True)
    p.add_argument("--lpips")
    p.add_argument("--batch_size", type=pydeps.integer(1, 65536), default=4)
    p.add_argument("--ours", required=True)
    args = p.parse_args()
    want, want_stat = reference(args)
    with open(os.path.join(args.ours, f"stat_{args.mode}.txt")) as f:
        got_stat = f.read()
    with open(os.path.join(args.ours, f"scores_{args.mode}.json")) as f:
        got = json.load(f)
    if list(got) != list(want):
        sys.exit(f"psp_losses_reference: names differ: reference {list(want)}, ours {list(got)}")
    for name, v in want.items():
        if abs(got[name] - v) > 1e-4 * abs(v) + 1e-7:
            sys.exit(f"psp_losses_reference: {name}: ours {got[name]!r}, reference {v!r}")
    if got_stat != want_stat:
        sys.exit(f"psp_losses_reference: stat_{args.mode}.txt differs: reference {want_stat!r}, ours {got_stat!r}")
    print(f"psp_losses_reference: {len(want)} scores within 1e-4 and '{want_stat}' equal")


if __name__ == "__main__":
    main()
