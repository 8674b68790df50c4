"""export: a .bin bundle's StyleGAN2 networks as a torch .pt state dict with the
official names."""
import collections
import io
import json

import torch

import stylegan2_reference as ref

from .bin_files import read_bin
from .config_inference import check_state
from .errors import ConvertError
from .files import write_atomic


def export(args):
    tensors, meta = read_bin(args.src)
    if meta.get("family", "stylegan2") != "stylegan2":
        raise ConvertError(f"{args.src}: a {meta['family']} network; export writes StyleGAN2 networks only")
    if "network" in meta:  # a standalone network file
        nets = {meta["network"]: tensors}
    else:
        nets = {}
        for key in ("G", "D", "G_ema"):
            sel = collections.OrderedDict((n[len(key) + 1:], t) for n, t in sorted(tensors.items())
                                          if n.startswith(key + "."))
            if sel:
                nets[key] = sel
    wanted = ["G", "D", "G_ema"] if args.net == "all" else [args.net]
    for key in wanted:
        if key not in nets:
            raise ConvertError(f"{args.src}: holds no {key} network (it has {', '.join(sorted(nets)) or 'none'})")
        kwargs_key = "D_kwargs" if key == "D" else "G_kwargs"
        if kwargs_key not in meta:
            raise ConvertError(f"{args.src}: no {kwargs_key} in its metadata")
        kwargs = json.loads(meta[kwargs_key])
        model = ref.Discriminator(**kwargs) if key == "D" else ref.Generator(**kwargs)
        check_state(nets[key], model, f"{args.src}: {key}")
    out = {k: nets[k] for k in wanted} if args.net == "all" else nets[args.net]
    if args.net == "all" and "training_set_kwargs" in meta:
        # Beside the networks, as an official snapshot keeps them (import reads them back).
        out["training_set_kwargs"] = json.loads(meta["training_set_kwargs"])
    buf = io.BytesIO()
    torch.save(out, buf)
    write_atomic(args.dst, [buf.getvalue()])
    print(f"wrote {', '.join(wanted)} to {args.dst}")
    flags = reimport_flags(meta, wanted)
    if flags:
        print(f"a state dict holds no settings: import it back with {' '.join(flags)} to keep them")


def reimport_flags(meta, nets):
    """The import flags that give a state dict of nets the bundle's settings
    where they differ from the import's defaults (a state dict records no
    conv_clamp, mapping lr multiplier or mbstd group)."""
    flags = []
    kwargs = [json.loads(meta["D_kwargs" if n == "D" else "G_kwargs"]) for n in nets]
    clamps = {k.get("conv_clamp") for k in kwargs}
    clamp = clamps.pop() if len(clamps) == 1 else None
    if clamp is not None:
        flags.append(f"--conv-clamp {clamp:g}")
    lr_mults = {k["mapping_lr_multiplier"] for k in kwargs if "mapping_lr_multiplier" in k}
    if len(lr_mults) == 1 and lr_mults != {0.01}:
        flags.append(f"--mapping-lr-multiplier {lr_mults.pop():g}")
    groups = {k["mbstd_group_size"] for k in kwargs if "mbstd_group_size" in k}
    if len(groups) == 1 and groups != {4}:
        flags.append(f"--mbstd-group-size {groups.pop()}")
    return flags
