"""Official network pickles: loading one with the restricted unpickler (the
tensor storages inside parsed as torch.save data), and StyleGAN2-ADA's
(network-snapshot-*.pkl): the networks' state dicts and what the pickle
records beyond shapes (conv_clamp, lr multipliers, architectures, the
training set's options)."""
import collections
import io

import torch

from .config_values import D_ARCHITECTURES, _plain, checked_setting
from .errors import ConvertError
from .restricted_pickle import PersistentObject, RestrictedUnpickler, StorageRef, _allowed_globals, _guarded
from .torch_files import is_zip, read_legacy_torch, read_zip_torch


def _restricted_load(data, path):
    def load():
        return RestrictedUnpickler(io.BytesIO(data), path, _allowed_globals(lambda b: _load_storage(b, path))).load()
    return _guarded(path, load)


def _load_storage(data, path):
    """torch.storage._load_from_bytes(b) in an official pickle: b is a storage
    on its own as torch.save writes it (legacy format; a zip in case a torch
    version writes that). Parsed here, never with torch.load."""
    if not isinstance(data, bytes):
        raise ConvertError(f"{path}: storage bytes are a {type(data).__name__}")
    where = f"{path}: tensor storage"
    obj = read_zip_torch(data, where, storage_globals_only=True) if is_zip(data) else \
        read_legacy_torch(data, where, storage_globals_only=True)
    if not isinstance(obj, StorageRef):
        raise ConvertError(f"{where}: holds a {type(obj).__name__}, not a storage")
    return obj


def persistent_state(obj, path, prefix="", seen=None):
    """Parameters and persistent buffers of a recorded module, recursively, under
    the module's state_dict names. A module met twice (a cycle through the
    pickle's memo) is refused."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        raise ConvertError(f"{path}: module {prefix.rstrip('.') or '(top)'} appears twice in the network (cyclic?)")
    seen.add(id(obj))
    out = collections.OrderedDict()
    st = obj.state
    skip = st.get("_non_persistent_buffers_set") or set()
    for key in ("_parameters", "_buffers"):
        for name, t in (st.get(key) or {}).items():
            if t is None or (key == "_buffers" and name in skip):
                continue
            if not isinstance(t, torch.Tensor):
                raise ConvertError(f"{path}: {prefix}{name} is not a tensor")
            out[prefix + name] = t
    for name, child in (st.get("_modules") or {}).items():
        if child is None:
            continue
        if not isinstance(child, PersistentObject):
            raise ConvertError(f"{path}: module {prefix}{name} is not a network module")
        out.update(persistent_state(child, path, prefix + name + ".", seen))
    return out


def find_attr(obj, attr, module_pred=lambda o: True):
    """The first value of a recorded attribute in a module tree (depth first)."""
    if module_pred(obj) and attr in obj.state:
        return obj.state[attr]
    for child in (obj.state.get("_modules") or {}).values():
        if isinstance(child, PersistentObject):
            v = find_attr(child, attr, module_pred)
            if v is not None:
                return v
    return None


def check_activations(obj, where, path):
    """Every layer's recorded activation is the one train.py's networks use
    (networks.py: 'lrelu' for the mapping's fc layers, the synthesis layers
    and D's convolutions and fc; 'linear' for a label embedding, the style
    affines, D's skip and its output): ganforge's networks have those built in, so a network built
    with another (activation='relu') imported and ran with lrelu, unsaid."""
    for name, child in (obj.state.get("_modules") or {}).items():
        if not isinstance(child, PersistentObject):
            continue
        act = _plain(child.state.get("activation"))
        want = "linear" if name in ("embed", "skip", "out", "affine") else "lrelu"
        if act is not None and act != want:
            raise ConvertError(f"{path}: {where}.{name} ({child.class_name}) has activation '{act}'; ganforge's "
                               f"networks use train.py's, '{want}' there")
        check_activations(child, f"{where}.{name}", path)


def official_hints(nets, path):
    """What an official pickle records beyond shapes: conv_clamp, the mapping's
    lr multiplier, the minibatch-stddev group and the architectures."""
    hints = {}
    for key, obj in nets.items():
        check_activations(obj, key, path)
        net = "D" if key == "D" else "G"
        own = {}
        arch = _plain(find_attr(obj, "architecture"))
        want = D_ARCHITECTURES if net == "D" else ("skip",)
        if arch is not None and arch not in want:
            raise ConvertError(f"{path}: {key} has architecture '{arch}'; ganforge supports "
                               f"{' or '.join(repr(a) for a in want)} only")
        if net == "D" and arch is not None:
            own["architecture"] = arch
        is_conv = lambda o: o.class_name in ("SynthesisLayer", "Conv2dLayer")  # noqa: E731
        # Each recorded number through checked_setting: float() and int() took
        # True as 1 and 1.5 as 1, and NaN or a string ended in a bare ValueError.
        clamp = find_attr(obj, "conv_clamp", is_conv)
        own["conv_clamp"] = checked_setting("conv_clamp", clamp, f"{path}: {key}")
        if net == "G":
            mapping = (obj.state.get("_modules") or {}).get("mapping")
            if isinstance(mapping, PersistentObject):
                fc0 = (mapping.state.get("_modules") or {}).get("fc0")  # not embed, whose multiplier is 1
                gain = fc0.state.get("bias_gain") if isinstance(fc0, PersistentObject) else None
                if gain is not None:
                    own["mapping_lr_multiplier"] = checked_setting("mapping_lr_multiplier", gain,
                                                                   f"{path}: {key}.mapping.fc0 (bias_gain)")
                beta = mapping.state.get("w_avg_beta")
                if beta is not None:
                    own["w_avg_beta"] = checked_setting("w_avg_beta", beta, f"{path}: {key}.mapping")
        else:
            group = find_attr(obj, "group_size", lambda o: o.class_name == "MinibatchStdLayer")
            own["mbstd_group_size"] = (checked_setting("mbstd_group_size", group, f"{path}: {key}")
                                       if group is not None else 0)
            # A conditional D's label mapping: ganforge's takes train.py's lr
            # multiplier, 0.01 (networks.py's default); another scaled the
            # labels differently without a word.
            mapping = (obj.state.get("_modules") or {}).get("mapping")
            if isinstance(mapping, PersistentObject):
                fc0 = (mapping.state.get("_modules") or {}).get("fc0")
                gain = fc0.state.get("bias_gain") if isinstance(fc0, PersistentObject) else None
                if gain is not None:
                    gain = checked_setting("mapping_lr_multiplier", gain, f"{path}: {key}.mapping.fc0 (bias_gain)")
                if gain is not None and abs(gain - 0.01) > 1e-9:
                    raise ConvertError(f"{path}: {key}'s label mapping has lr_multiplier {gain:g}; "
                                       "ganforge's discriminator takes 0.01, train.py's (mapping_kwargs of D)")
        hints[key] = own  # G's and G_ema's each: convert() refuses them if they differ
    return hints


def _is_stylegan3(obj, depth=0):
    """StyleGAN3's networks (networks_stylegan3.py): a SynthesisInput module,
    by its class name or in the module source the pickle records. It was
    "unexpected tensor synthesis.input.weight", naming no cause."""
    if obj.class_name == "SynthesisInput" or "class SynthesisInput" in obj.module_src:
        return True
    modules = obj.state.get("_modules")
    return depth < 4 and isinstance(modules, dict) and any(
        isinstance(m, PersistentObject) and _is_stylegan3(m, depth + 1) for m in modules.values())


def official_training_set(top):
    """The dataset options of an official snapshot (its training_set_kwargs:
    train.py records the data path as given, xflip, and max_size with
    random_seed for a --subset), as calc_metrics.py reads them without
    --data: {"path", "xflip", "max_size", "random_seed"}, the entries of the
    expected types only; None when the snapshot has none (or no path)."""
    kw = top.get("training_set_kwargs")
    if not isinstance(kw, dict) or not isinstance(kw.get("path"), str):
        return None
    out = {"path": kw["path"]}
    if isinstance(kw.get("xflip"), bool):
        out["xflip"] = kw["xflip"]
    for key in ("max_size", "random_seed"):
        v = kw.get(key)
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2 ** 63:
            out[key] = v
    return out


def with_training_set(hints, top):
    """hints plus "training_set_kwargs" when the snapshot records them."""
    training_set = official_training_set(top)
    return hints if training_set is None else dict(hints, training_set_kwargs=training_set)


def read_official_pickle(path, data, top=None):
    top = _restricted_load(data, path) if top is None else top
    if not isinstance(top, dict):
        raise ConvertError(f"{path}: not a network pickle (top level is {type(top).__name__}, not a dict)")
    nets = {k: top[k] for k in ("G", "D", "G_ema") if isinstance(top.get(k), PersistentObject)}
    if not nets:
        raise ConvertError(f"{path}: not a network pickle (no G, D or G_ema network in it)")
    if any(_is_stylegan3(n) for n in nets.values()):
        raise ConvertError(f"{path}: a StyleGAN3 network pickle (its synthesis starts from a SynthesisInput); "
                           "ganforge converts StyleGAN2-ADA's, not StyleGAN3's")
    return {k: persistent_state(v, path) for k, v in nets.items()}, with_training_set(official_hints(nets, path), top)
