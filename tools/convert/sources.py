"""What an input file is (an official or TensorFlow pickle, a torch.save,
safetensors or TorchScript file) and what its contents are, by --format or
by their keys."""
from .bin_files import DATA_CRC_KEY, read_bin
from .celebahq_classifiers import CLASSIFIERS_HINT
from .errors import ConvertError
from .files import read_input_file
from .inception import is_inception
from .loss_network_kinds import is_arcface, is_lpips_lin, is_torchvision_vgg16
from .moco import MOCO_PREFIX, is_moco
from .official_pickle import _restricted_load, read_official_pickle, with_training_set
from .pggan_tf import is_tf_networks, read_pggan_pickle
from .psp import is_psp_checkpoint
from .restricted_pickle import TFNetwork
from .rosinality import read_rosinality
from .state_dicts import _as_state
from .stylegan2_tf import read_stylegan2_tf_pickle
from .stylegan_tf import read_stylegan_pickle, tf_version
from .torch_files import is_legacy_torch, is_torchscript, is_zip, read_torch_file, read_torchscript


def _kind(state):
    if any(n.startswith("synthesis.") for n in state):
        return "G"
    if "b4.conv.weight" in state:
        return "D"
    return None


def load_source(path, fmt):
    """-> ("stylegan2", ({network: state with official names}, {"G", "G_ema", "D": hints})),
    ("pggan", {"G", "D", "G_ema": TF network state}), ("psp", the checkpoint dict), or for pSp's loss
    networks ("lpips", LPIPS's lin layers) and ("arcface", the Backbone's state dict); fmt "state-dict-raw"
    gives ("raw", the torch file's dict)"""
    data = read_input_file(path)
    if not data:
        raise ConvertError(f"{path}: empty file")
    if data[8:9] == b"{":  # safetensors: a state dict saved by safetensors.torch, or a ganforge .bin
        if fmt in ("official-pkl", "pggan-pkl", "inception"):
            raise ConvertError(f"{path}: a safetensors file, not --format {fmt}")
        return classify_dict(safetensors_state_dict(path), path, fmt)
    torch_file = is_zip(data) or is_legacy_torch(data)
    if is_torchscript(data):
        if fmt not in ("auto", "inception"):
            raise ConvertError(f"{path}: a TorchScript archive (torch.jit.save), not --format {fmt}; ganforge "
                               "reads TorchScript only for the FID/IS Inception detector (--format inception)")
        cls, state = read_torchscript(path, data)
        if not is_inception(state):
            raise ConvertError(f"{path}: a TorchScript archive of {cls[:80]} that is not the FID/IS Inception "
                               "detector (no layers.conv.weight and output.weight); ganforge reads no other "
                               "TorchScript networks")
        return "inception", state
    if fmt == "inception":
        raise ConvertError(f"{path}: not a TorchScript archive; the Inception detector is "
                           "inception-2015-12-05.pt, a torch.jit.save archive")
    if fmt in ("official-pkl", "pggan-pkl") or (fmt == "auto" and not torch_file):
        if torch_file:
            raise ConvertError(f"{path}: a torch.save file, not an official network pickle")
        top = _restricted_load(data, path)
        if isinstance(top, TFNetwork):
            raise ConvertError(f"{path}: one TensorFlow network, not a (G, D, Gs) pickle; a CelebA-HQ attribute "
                               f"classifier is imported with the other 39 ({CLASSIFIERS_HINT})")
        if is_tf_networks(top):
            if tf_version(top) == 4:
                if fmt == "pggan-pkl":
                    raise ConvertError(f"{path}: a StyleGAN2 TensorFlow pickle, not a PGGAN one")
                return "stylegan2", read_stylegan2_tf_pickle(top, path)
            if tf_version(top) == 3:
                if fmt == "pggan-pkl":
                    raise ConvertError(f"{path}: a StyleGAN (v1) TensorFlow pickle, not a PGGAN one")
                return "stylegan", read_stylegan_pickle(top, path)
            if fmt == "official-pkl":
                raise ConvertError(f"{path}: a TensorFlow (PGGAN) pickle, not a StyleGAN2-ADA one (--format pggan-pkl)")
            return "pggan", read_pggan_pickle(top, path)
        if fmt == "pggan-pkl":
            raise ConvertError(f"{path}: not an official PGGAN pickle (no tuple of tfutil.Network objects in it)")
        return "stylegan2", read_official_pickle(path, data, top)
    if not torch_file:
        raise ConvertError(f"{path}: not a torch.save file (neither zip nor legacy format)")
    return classify_dict(read_torch_file(path, data), path, fmt)


def safetensors_state_dict(path):
    """A safetensors file of plain tensors (safetensors.torch.save_file of a
    state dict) -> {name: tensor}; a ganforge .bin is refused: its programs
    read it as it is."""
    tensors, meta = read_bin(path, keep_crc_key=True)
    # data_crc32: both ganforge writers add it to every file (networks, draw
    # logs, stats caches, traces), the safetensors library never.
    ours = [k for k in meta if k in ("network", "family", "perceptual", DATA_CRC_KEY) or k.endswith("_kwargs")]
    if ours:
        raise ConvertError(f"{path}: a ganforge .bin (metadata {ours[0]}), not weights to import: the programs read "
                           "it as it is")
    # A bundle through safetensors (a flat dict): G.*, D.*, G_ema.* as the nested form torch.save keeps.
    prefixes = ("G.", "D.", "G_ema.")
    if tensors and all(k.startswith(prefixes) for k in tensors):
        nested = {}
        for k, v in tensors.items():
            net, rest = k.split(".", 1)
            nested.setdefault(net, {})[rest] = v
        return nested
    return tensors


def classify_dict(obj, path, fmt):
    """What a torch.save or safetensors file's dict holds, by format or by its keys."""
    if not isinstance(obj, dict):
        raise ConvertError(f"{path}: holds a {type(obj).__name__}, not a dict")
    if fmt == "state-dict-raw":  # a loss network's second file, as it is
        return "raw", obj
    if fmt == "vgg16" or (fmt == "auto" and is_torchvision_vgg16(obj)):
        if not is_torchvision_vgg16(obj):
            raise ConvertError(f"{path}: not torchvision's VGG16 state dict (no features.28.weight and "
                               "classifier.3.weight); --format vgg16 takes vgg16-397923af.pth as SRC")
        return "vgg16", obj
    if fmt == "lpips" or (fmt == "auto" and is_lpips_lin(obj)):
        if not is_lpips_lin(obj):
            raise ConvertError(f"{path}: not LPIPS's lin layers (linN.model.1.weight)")
        return "lpips", obj
    if fmt == "auto" and "features.0.weight" in obj and "features.3.weight" in obj:
        raise ConvertError(f"{path}: torchvision's AlexNet alone; LPIPS needs its lin layers too: import LPIPS's "
                           f"alex.pth with --alexnet {path}")
    if fmt == "arcface" or (fmt == "auto" and is_arcface(obj)):
        if not is_arcface(obj):
            raise ConvertError(f"{path}: not an ArcFace Backbone state dict (no input_layer.0.weight and "
                               "output_layer.3.weight)")
        return "arcface", obj
    if fmt == "moco" or (fmt == "auto" and is_moco(obj)):
        if not is_moco(obj):
            raise ConvertError(f"{path}: not MoCo's checkpoint (no state_dict with {MOCO_PREFIX}conv1.weight); "
                               "--format moco takes moco_v2_800ep_pretrain.pth.tar, pSp's MoCo loss network")
        return "moco", obj
    if fmt == "psp" or (fmt == "auto" and is_psp_checkpoint(obj)):
        if not is_psp_checkpoint(obj):
            raise ConvertError(f"{path}: not a pSp checkpoint (no state_dict and opts)")
        return "psp", obj
    if "state_dict" in obj and "opts" not in obj:
        # pSp's coach saves both; without opts the dict fell through to "not
        # a state dict of tensors", naming nothing.
        raise ConvertError(f"{path}: a checkpoint with a state_dict but no 'opts', where pSp's coach saves its "
                           "training options")
    is_rosinality = "g_ema" in obj or "g" in obj
    if fmt == "rosinality" and not is_rosinality:
        raise ConvertError(f"{path}: not a rosinality checkpoint (no g_ema or g)")
    if fmt == "rosinality" or (fmt == "auto" and is_rosinality):
        return "stylegan2", read_rosinality(obj, path)
    if any(k in obj for k in ("G", "D", "G_ema")):
        nets = {k: _as_state(obj[k], path, k) for k in ("G", "D", "G_ema") if k in obj}
        # The rest of an official snapshot (its augment pipe, data options,
        # progress), dumped with torch.save as a user may: no network.
        snapshot_rest = ("augment_pipe", "training_set_kwargs", "progress")
        extra = [k for k in obj if k not in nets and k not in snapshot_rest]
        if extra:
            raise ConvertError(f"{path}: unexpected entry '{extra[0]}' beside the networks")
        return "stylegan2", (nets, with_training_set({}, obj))
    state = _as_state(obj, path, "the file")
    kind = _kind(state)
    if kind is None:
        raise ConvertError(f"{path}: neither a generator (synthesis.*) nor a discriminator (b4.conv.weight)")
    return "stylegan2", ({"G_ema" if kind == "G" else "D": state}, {})
