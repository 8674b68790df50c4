"""StyleGAN2 configs (G_kwargs, D_kwargs) inferred from the tensors' names and
shapes, the pickle's hints and the flags; a state dict checked against the
reference network's."""
import re

from .errors import ConvertError


def tensor_dims(t, name, where, ndim, lead=0, kind="tensor"):
    """t's shape after checking its rank (and that its first lead sizes are
    1, a batch axis dropped by indexing): a 0-d or empty tensor where a
    matrix belongs ended in a bare IndexError that named nothing."""
    shape = [int(n) for n in getattr(t, "shape", ())]
    if len(shape) != ndim or shape[:lead] != [1] * lead:
        ones = "" if not lead else " with a leading 1" if lead == 1 else f" with {lead} leading 1s"
        want = f"{ndim} dimension{'' if ndim == 1 else 's'}{ones}"
        raise ConvertError(f"{where}: {kind} {name} has shape {shape}, expected {want}")
    return tuple(shape)


def _shape(state, name, net, ndim):
    if name not in state:
        raise ConvertError(f"{net}: missing tensor {name}")
    return tensor_dims(state[name], name, net, ndim)


def _block_resolutions(state, prefix):
    return sorted({int(m.group(1)) for n in state for m in [re.match(prefix + r"b(\d+)\.", n)] if m})


def _count_fc(state, prefix):
    return len({m.group(1) for n in state for m in [re.match(prefix + r"fc(\d+)\.weight$", n)] if m})


def infer_channels(ch, net):
    """channel_base and channel_max such that min(base // res, max) == ch[res]:
    the smallest base that fits (any larger one that fits builds the same network)."""
    cmax = max(ch.values())
    below = [c * res for res, c in ch.items() if c < cmax]
    base = max(below) if below else cmax * max(ch)
    if any(min(base // r, cmax) != c for r, c in ch.items()):
        raise ConvertError(f"{net}: channel counts {dict(sorted(ch.items()))} fit no channel_base/channel_max")
    return base, cmax


def conv_clamp(args, hints):
    v = args.conv_clamp if args.conv_clamp != "auto" else hints.get("conv_clamp")
    return None if v is None else float(v)


def infer_g_kwargs(state, net, hints, args):
    res = _block_resolutions(state, r"synthesis\.")
    if not res or res[0] != 4 or any(b != 2 * a for a, b in zip(res, res[1:])):
        raise ConvertError(f"{net}: synthesis blocks {res} are not b4, b8, ... (not a StyleGAN2 generator?)")
    top = res[-1]
    if any(re.fullmatch(r"synthesis\.b\d+\.skip\.weight", n) for n in state):
        arch = "resnet"
    elif f"synthesis.b{top}.torgb.weight" in state and any(f"synthesis.b{r}.torgb.weight" not in state for r in res):
        arch = "orig"
    else:
        arch = "skip"
    if arch != "skip":
        why = "skip weights" if arch == "resnet" else "a torgb in the last block only"
        raise ConvertError(f"{net}: {'a' if arch == 'resnet' else 'an'} {arch!r} generator ({why}); ganforge's "
                           "StyleGAN2 generator is 'skip'")
    layers = _count_fc(state, r"mapping\.")
    if layers == 0:
        raise ConvertError(f"{net}: missing tensor mapping.fc0.weight")
    c_dim = _shape(state, "mapping.embed.weight", net, 2)[1] if "mapping.embed.weight" in state else 0
    embed = _shape(state, "mapping.embed.weight", net, 2)[0] if c_dim else 0
    w_dim = _shape(state, f"mapping.fc{layers - 1}.weight", net, 2)[0]
    if c_dim and embed != w_dim:
        raise ConvertError(f"{net}: its label embedding has {embed} features, not w_dim {w_dim} (mapping_kwargs "
                           "embed_features); ganforge's mapping embeds labels to w_dim, as every official config does")
    ch = {r: _shape(state, f"synthesis.b{r}.conv1.weight", net, 4)[0] for r in res}
    base, cmax = infer_channels(ch, net)
    return {
        "z_dim": _shape(state, "mapping.fc0.weight", net, 2)[1] - embed,
        "c_dim": c_dim,
        "w_dim": _shape(state, f"mapping.fc{layers - 1}.weight", net, 2)[0],
        "img_resolution": top,
        "img_channels": _shape(state, f"synthesis.b{top}.torgb.weight", net, 4)[0],
        "mapping_layers": layers,
        "mapping_lr_multiplier": (args.mapping_lr_multiplier if args.mapping_lr_multiplier is not None
                                  else hints.get("mapping_lr_multiplier", 0.01)),
        "w_avg_beta": hints.get("w_avg_beta", 0.995),
        "channel_base": base,
        "channel_max": cmax,
        "conv_clamp": conv_clamp(args, hints),
        "use_noise": "synthesis.b4.conv1.noise_const" in state,
    }


def d_architecture(state, net, top, hint):
    """'resnet' or 'orig': the recorded attribute (official pickles), else from
    the tensors (skip weights: 'resnet'; none: 'orig'). A 'skip' D, with a
    fromrgb in every block, is refused."""
    below = sorted(int(m.group(1)) for n in state for m in [re.fullmatch(r"b(\d+)\.fromrgb\.weight", n)]
                   if m and int(m.group(1)) != top)
    if below:
        raise ConvertError(f"{net}: a 'skip' discriminator (b{below[-1]}.fromrgb.weight: an image input in every "
                           "block); ganforge's StyleGAN2 discriminator is 'resnet' or 'orig'")
    if hint is not None:
        return hint
    return "resnet" if any(re.fullmatch(r"b\d+\.skip\.weight", n) for n in state) else "orig"


def infer_d_kwargs(state, net, hints, args):
    res = _block_resolutions(state, "")
    if not res or res[0] != 4 or len(res) < 2 or any(b != 2 * a for a, b in zip(res, res[1:])):
        raise ConvertError(f"{net}: blocks {res} are not b4, b8, ... (not a StyleGAN2 discriminator?)")
    top = res[-1]
    arch = d_architecture(state, net, top, hints.get("architecture"))
    ch = {r: _shape(state, f"b{r}.conv0.weight", net, 4)[0] for r in res[1:]}
    ch[4] = _shape(state, "b4.conv.weight", net, 4)[0]
    base, cmax = infer_channels(ch, net)
    c_dim = _shape(state, "mapping.embed.weight", net, 2)[1] if "mapping.embed.weight" in state else 0
    group = args.mbstd_group_size if args.mbstd_group_size is not None else hints.get("mbstd_group_size", 4)
    return {
        "c_dim": c_dim,
        "img_resolution": top,
        "img_channels": _shape(state, f"b{top}.fromrgb.weight", net, 4)[1],
        "architecture": arch,
        "channel_base": base,
        "channel_max": cmax,
        "conv_clamp": conv_clamp(args, hints),
        "mbstd_group_size": group,
        "mbstd_num_channels": _shape(state, "b4.conv.weight", net, 4)[1] - ch[4],
        "cmap_dim": _shape(state, "b4.out.weight", net, 2)[0] if c_dim else 0,
        "mapping_layers": _count_fc(state, r"mapping\.") if c_dim else 8,  # unused without labels
        "freeze_layers": 0,
    }


def check_state(state, model, net):
    """Names and shapes exactly those of the reference network (official names)."""
    want = model.state_dict()
    missing = [n for n in want if n not in state]
    extra = [n for n in state if n not in want]
    more = lambda names: f" (and {len(names) - 1} more)" if len(names) > 1 else ""  # noqa: E731
    if missing:
        raise ConvertError(f"{net}: missing tensor {missing[0]}{more(missing)}")
    if extra:
        raise ConvertError(f"{net}: unexpected tensor {extra[0]}{more(extra)}")
    for n, t in want.items():
        if tuple(state[n].shape) != tuple(t.shape):
            raise ConvertError(f"{net}: tensor {n} has shape {list(state[n].shape)}, expected {list(t.shape)}")
        if not state[n].is_floating_point():
            raise ConvertError(f"{net}: tensor {n} has dtype {state[n].dtype}, expected a float tensor")
