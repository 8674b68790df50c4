#!/usr/bin/env python3
"""Convert StyleGAN2, StyleGAN (v1) and PGGAN weights between other formats and ganforge .bin bundles.

  convert_weights.py import SRC OUT.bin [--format auto|official-pkl|pggan-pkl|state-dict|rosinality|psp|
                                                  lpips|arcface|inception|vgg16] [config flags]
  convert_weights.py import FOLDER OUT.bin --format celebahq-classifiers
  convert_weights.py export IN.bin OUT.pt [--net G_ema|G|D|all]

import reads an official StyleGAN2-ADA network pickle (network-snapshot-*.pkl),
a PyTorch state dict with the official names (one network, or a dict of G, D,
G_ema), or a rosinality/stylegan2-pytorch checkpoint, and writes a bundle: the
networks under the prefixes "G.", "D.", "G_ema." with "G_kwargs" and
"D_kwargs" (models/stylegan2/config.h) in the metadata. The config comes from the
tensors' names and shapes; what they cannot tell comes from the pickle's
recorded module attributes (official pickles) or from the flags. D's
"architecture" is "resnet" or "orig" (train.py --cfg cifar: no skip layers), from
the pickle's attribute, else from whether the blocks have skip weights; a 'skip'
D (fromrgb in every block) and a generator other than 'skip' are refused:
  --conv-clamp        default: the pickle's value, else none (no clamp: the
                      TF-converted official models and rosinality's have none;
                      train.py's own runs use 256)
  --mapping-lr-multiplier  default: the pickle's value, else 0.01
  --mbstd-group-size  default: the pickle's value, else 4 (0: whole batch)
A pSp checkpoint (pixel2style2pixel: {"state_dict" with encoder.*/decoder.*,
"opts", "latent_avg"}) becomes one pSp file (models/psp/network_file.h): the
encoder with pSp's names (batch-norm running stats kept, num_batches_tracked
dropped), its rosinality decoder as G_ema with the official names, latent_avg,
and the settings from opts (encoder_type, output_size, start_from_latent_avg,
learn_in_w, input_nc) as "psp_kwargs". The body is IR-SE50 unless --psp-arch
says otherwise (for the small test networks).
The loss networks pSp trains with (train_psp) become .bin files of their own
(models/perceptual/network_file.h): LPIPS from the LPIPS v0.1 lin layers
(alex.pth, linN.model.1.weight) as SRC with torchvision's AlexNet state dict
(alexnet-owt-*.pth) given by --alexnet, named as pSp's LPIPS module
(net.layers.*, lin.*; AlexNet's classifier dropped); ArcFace from pSp's
model_ir_se50.pth (the IR-SE50 Backbone's state dict, num_batches_tracked
dropped), its body and embedding width read from the shapes.
The FID/IS detector of the official metrics (StyleGAN2-ADA's
frechet_inception_distance.py and inception_score.py run
inception-2015-12-05.pt, which they download from
https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt;
nothing can be downloaded here, so bring your own copy) becomes a .bin with
metadata "perceptual" = "inception": the TorchScript archive is read as data
(torch.jit.load is never used and its code/ is never run; __torch__.* classes
become inert attribute containers, and each class's parameters and buffers are
the ones its code/ declaration lists), and the state dict keeps the official
names (layers.conv.weight, layers.conv.beta, .mean, .var, ...,
layers.mixed_10.tower_2_conv.var, output.weight [1008, 2048], output.bias).
Those names and shapes come from third-party readings of the file, not from
the file itself (nobody here has it): every one is checked, and a file that
differs is refused naming the first tensor that is missing, extra or misshapen.
StyleGAN2-ADA's VGG16 (vgg16.pt: PPL, pr50k3, the projector) is torchvision's
VGG16 with the LPIPS v0.1 lin layers; it becomes a .bin with metadata
"perceptual" = "vgg16" (models/perceptual/vgg16.h) from SRC, torchvision's
VGG16 state dict (vgg16-397923af.pth: features.N.weight/bias,
classifier.{0,3,6}.*; the 1000-class classifier.6 is dropped), with --format
vgg16 and --lpips LPIPS's vgg.pth (lin0..lin4.model.1.weight, [1, C, 1, 1],
non-negative). Every name and shape is checked against torchvision's layout
(widths divided by a power of two from 1 to 16 are accepted, for tests).
Rosinality checkpoints hold no w_avg: "latent_avg" is used when present, else
the mean of the mapping over --w-avg-samples latents (seed 0).

import also reads official PGGAN pickles (tkarras/progressive_growing_of_gans:
the tuple (G, D, Gs) of tfutil.Network objects, state version 2, with the
variables as (TF name, NumPy array) pairs) without TensorFlow, into a PGGAN
bundle: "G.", "D.", "G_ema." (from Gs) with the official variable names
("G_ema.4x4/Dense/weight") in ganforge's layouts, metadata "family" = "pggan"
and G_kwargs/D_kwargs (models/pggan/config.h). The configuration comes from the
variables' names and shapes and the pickle's static_kwargs (official defaults
where absent); --mbstd-group-size overrides D's (the released CelebA-HQ
network, converted from Theano, reportedly uses 16). The embedded network
source is never run.

It reads official StyleGAN (v1) pickles too (NVlabs/stylegan: (G, D, Gs) of
dnnlib.tflib.network.Network objects, state version 3, G_style with its
mapping and synthesis components, D_basic) into a bundle with metadata
"family" = "stylegan" (models/stylegan/config.h): G's variables flattened
under their component ("G_ema.G_mapping/Dense0/weight",
"G_ema.G_synthesis/8x8/Conv0_up/weight", "G_ema.dlatent_avg"), the
configuration from names, shapes and static_kwargs as for PGGAN;
--mbstd-group-size overrides D's (checked against 4x4/Conv's input maps) and
--mapping-lr-multiplier G's mapping_lrmul.

And it reads official StyleGAN2 TensorFlow pickles (NVlabs/stylegan2: (G, D,
Gs) of dnnlib.tflib networks, state version 4; G_main with the components
mapping (G_mapping) and synthesis (G_synthesis_stylegan2, 'skip'),
D_stylegan2 ('resnet', or config E's 'orig': no Skip layers): configs E and F)
into the StyleGAN2 bundle the PyTorch imports write, by the official TF ->
PyTorch correspondence (dense [in, out] and conv [kh, kw, in, out]
transposed; affine bias = mod_bias + 1; the Conv0_up kernel turned by 180
degrees, D's convs as they are; noise{i} -> noise_const; dlatent_avg ->
w_avg; mapping_lrmul, dlatent_avg_beta and mbstd_group_size/
mbstd_num_features from static_kwargs; channels from the shapes; no conv
clamp; D's architecture from its variables, checked against static_kwargs). Conditional ones (LabelConcat) and the other architectures
(config E's G orig/resnet, D skip; configs A-D) are refused: their semantics
are not those of ganforge's StyleGAN2.

The 40 CelebA-HQ attribute classifiers of StyleGAN (v1)'s Linear Separability
metric (NVlabs/stylegan metrics/linear_separability.py) become one .bin with
--format celebahq-classifiers: SRC is a folder holding
celebahq-classifier-NN-<name>.pkl for every NN in 00..39, exactly one each
(other file names are passed over). Each pickle is one TensorFlow network
(state version 2, PGGAN's tfutil, or 3, NVlabs/stylegan's dnnlib), PGGAN's
D_paper with 3 channels, no labels and no minibatch-stddev map (a group size
missing from static_kwargs is read from 4x4/Conv's input maps), all 40 at
one resolution (the official's 256x256; any power of two here); its output
is the attribute's logit. Tensors are
"classifier_NN.<variable>" (the official names, ganforge's layouts, as a PGGAN
bundle's "D.<variable>"); metadata "perceptual" = "celebahq-classifiers",
"classifiers" = JSON list of the 40 names in index order ("00-male", ...,
taken from the file names) and "classifier_NN_kwargs" = that network's
D_kwargs (models/pggan/config.h), as a PGGAN bundle's "D_kwargs".

export writes a torch .pt state dict with the official names (buffers
included) that load_state_dict accepts in the official networks (and in
tools/stylegan2_reference.py); --net all writes {"G": ..., "D": ..., "G_ema": ...}.

Pickles are read with a restricted unpickler: module source embedded in an
official pickle is never executed, and a pickle asking for anything beyond
tensors, containers and the persistence stand-in is refused. torch.load is
never used on input (on torch < 2.6 even weights_only=True can run code):
torch.save files (zip or legacy) and the storage bytes inside official
pickles are parsed here, with the same unpickler, and the tensors built from
the raw bytes with numpy. Errors end with
one line "convert_weights: error: ..." and exit code 1; OUT is written to a
temporary name and renamed only on success.
"""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interrupts import die_by_signals, die_of, exclusive_temporary  # noqa: E402  (standard library only)

if __name__ == "__main__":
    die_by_signals()

import argparse  # noqa: E402
import ast  # noqa: E402
import collections  # noqa: E402
import errno  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import pickle  # noqa: E402
import pickletools  # noqa: E402
import re  # noqa: E402
import stat  # noqa: E402
import struct  # noqa: E402
import types  # noqa: E402
import zipfile  # noqa: E402
import zlib  # noqa: E402

import output_folder  # noqa: E402  (standard library only)
import pydeps  # noqa: E402  (standard library only)


def _clamp(v):
    if v in ("auto", "none"):
        return None if v == "none" else v
    return _CLAMP(v)


# Where the official metrics get the detector (used before torch is imported: --help).
INCEPTION_URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt"
_CLAMP = pydeps.number(0, lo_open=True)
_LR_MULT = pydeps.number(0, lo_open=True)
# models/config_json.h kMaxNetworkSize: json_size() refuses a whole number of
# larger magnitude (and json_int one beyond int32), so the converter does too.
MAX_NETWORK_SIZE = 1 << 24
_MBSTD = pydeps.integer(0, MAX_NETWORK_SIZE)
_PATH, _TEXT = pydeps.text("a file name"), pydeps.text("a value")  # "" is refused
_W_AVG_SAMPLES = pydeps.integer(1, 1000000)  # float64 [N, z_dim] in one batch: 4 GB at the cap for z_dim 512


def parent_folder_problem(path):
    """Why the folder of path could not be made, or None; makes nothing. Its
    first existing ancestor (a dangling link counts) must be a folder we may
    write into, as engine/io/atomic_file.h check_parent_folder says."""
    folder = os.path.dirname(path)
    if not folder:
        return None
    at = folder
    while at and not os.path.lexists(at):
        at = os.path.dirname(at)
    existing = at or "."
    if not os.path.isdir(existing):
        return os.strerror(errno.ENOTDIR)
    if at != folder and not os.access(existing, os.W_OK | os.X_OK):
        return os.strerror(errno.EACCES)
    return None


def make_parent_folder(path):
    """Makes the folder of path (and its parents) right before path is written."""
    why = output_folder.make_parent_folder(path)
    if why:
        raise ConvertError(why)


def parse_args(argv):
    """Flags only: runs before NumPy and PyTorch are imported, so --help and
    bad values are answered by any Python 3."""
    p = pydeps.OneLineParser(prog="convert_weights", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("import", help="official pickle (StyleGAN2-ADA, StyleGAN2 TF, StyleGAN v1 or PGGAN), "
                                      "state dict, rosinality or pSp checkpoint, a loss network (LPIPS, ArcFace, MoCo) "
                                      "the FID/IS Inception detector or the LS attribute classifiers -> .bin",
                       formatter_class=argparse.RawDescriptionHelpFormatter,  # the URL on one line
                       epilog="The FID/IS Inception detector: SRC is your copy of inception-2015-12-05.pt, the\n"
                              "TorchScript archive StyleGAN2-ADA's metrics download from\n  " + INCEPTION_URL + "\n"
                              "(read as data, never run). Its tensor names and shapes come from third-party\n"
                              "readings of that file (none was at hand here): each is checked, and a file\n"
                              "that differs is refused naming the tensor.")
    i.add_argument("src", type=_PATH)
    i.add_argument("dst", type=_PATH)
    i.add_argument("--format", choices=["auto", "official-pkl", "pggan-pkl", "state-dict", "rosinality", "psp",
                                        "lpips", "arcface", "moco", "inception", "vgg16", "celebahq-classifiers"],
                   default="auto",
                   help="default: detected from the file; celebahq-classifiers: SRC is the folder of the 40 "
                        "celebahq-classifier-NN-<name>.pkl (StyleGAN's Linear Separability metric)")
    i.add_argument("--alexnet", default=None, metavar="FILE.pth", type=_PATH,
                   help="torchvision's AlexNet state dict, for an LPIPS import (SRC: LPIPS's alex.pth)")
    i.add_argument("--lpips", default=None, metavar="FILE.pth", type=_PATH,
                   help="LPIPS's vgg.pth (the v0.1 lin layers), for a VGG16 import (--format vgg16; SRC: "
                        "torchvision's vgg16-397923af.pth)")
    i.add_argument("--psp-arch", default=None, metavar="JSON", type=_TEXT,
                   help="pSp encoder body beyond IR-SE50 (keys units, depths, se_reduction, input_size, mode)")
    i.add_argument("--conv-clamp", type=_clamp, default="auto", metavar="N|none",
                   help=f"a clamp N ({_CLAMP.accepts}) or none; default: the pickle's, else none")
    i.add_argument("--mapping-lr-multiplier", type=_LR_MULT, default=None, metavar="X",
                   help=f"default: the pickle's, else 0.01 ({_LR_MULT.accepts})")
    i.add_argument("--mbstd-group-size", type=_MBSTD, default=None, metavar="N",
                   help=f"D's minibatch-stddev group; StyleGAN2: 0 = whole batch; PGGAN, StyleGAN: <= 1 = none "
                        f"(default: the pickle's, else 4) ({_MBSTD.accepts})")
    i.add_argument("--w-avg-samples", type=_W_AVG_SAMPLES, default=None, metavar="N",
                   help="latents averaged for w_avg (10000 unless given) when a rosinality checkpoint has no "
                        f"latent_avg ({_W_AVG_SAMPLES.accepts})")
    e = sub.add_parser("export", help=".bin -> torch .pt state dict with the official names")
    e.add_argument("src", type=_PATH)
    e.add_argument("dst", type=_PATH)
    e.add_argument("--net", choices=["G_ema", "G", "D", "all"], default="G_ema")
    args = p.parse_args(argv)
    # Writing over the input would lose the network it holds (the write is
    # atomic, the loss is not); checked before NumPy and PyTorch load.
    if os.path.exists(args.src) and os.path.exists(args.dst) and os.path.samefile(args.src, args.dst):
        print(f"convert_weights: error: {args.dst} is the input file; choose another name", file=sys.stderr)
        sys.exit(1)
    # A folder (or a name ending in '/') is no output file: "adir/" was
    # "cannot write (Not a directory)" from the temporary's name, "adir" the
    # rename's "Is a directory", each after the whole conversion.
    if args.dst.endswith(os.sep) or os.path.isdir(args.dst):
        print(f"convert_weights: error: {args.dst}: is a folder; give the output's file name "
              f"(as {os.path.join(args.dst, 'out.bin')})", file=sys.stderr)
        sys.exit(1)
    # DST's folder must be one we can make (a file in the way fails here, before
    # NumPy and PyTorch load), but it is made only at the write (write_atomic):
    # a run refused later, SRC missing or unreadable, leaves no new folder.
    why = parent_folder_problem(args.dst)
    if why:
        print(f"convert_weights: error: {args.dst}: cannot make its folder {os.path.dirname(args.dst)}: {why}",
              file=sys.stderr)
        sys.exit(1)
    messages_off_stdout_if_output(args.dst)
    return args


def messages_off_stdout_if_output(dst):
    """DST is this process's standard output (export x.bin /dev/stdout > x.pt, a
    pipe, the file stdout went to): the script's lines go to stderr, so the file
    holds the data alone (printed through descriptor 1, "wrote G_ema to ..." landed
    over the start of the data and torch.load failed), as the C++ programs do
    (train/cli.h check_output_file). Regular files, pipes and sockets only: a
    device such as /dev/null is no data."""
    try:
        out, file = os.fstat(1), os.stat(dst)
    except OSError:
        return
    if (out.st_dev, out.st_ino) == (file.st_dev, file.st_ino) and (
            stat.S_ISREG(out.st_mode) or stat.S_ISFIFO(out.st_mode) or stat.S_ISSOCK(out.st_mode)):
        sys.stdout.flush()
        sys.stdout = sys.stderr


if __name__ == "__main__":
    _ARGS = parse_args(sys.argv[1:])
    pydeps.require("convert_weights", "numpy", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import perceptual_reference as perc_ref  # noqa: E402
import pggan_reference as pgref  # noqa: E402
import stylegan_reference as sgref  # noqa: E402
import psp_reference as psp_ref  # noqa: E402
import stylegan2_reference as ref  # noqa: E402
import vgg16_reference as vgg_ref  # noqa: E402


class ConvertError(Exception):
    pass


# StyleGAN2 discriminator architectures ganforge runs (D_kwargs "architecture",
# models/stylegan2/config.h; absent means "resnet"); 'skip' is refused.
D_ARCHITECTURES = ("resnet", "orig")


# ---------------------------------------------------------------- config values

# How models/*/config.cpp reads each key it knows (PGGAN, StyleGAN, StyleGAN2,
# pSp): "whole" is json_size (an integer, not a bool or 1.5), "real" a
# get<double> (refused here for a bool too: True as 1.0 is no setting anyone
# wrote), "bool" a get<bool>. Lists hold elements of the kind. Counts (>= 0)
# apply to StyleGAN2 configs only, below.
_SETTING_KINDS = {
    **dict.fromkeys(("num_channels", "resolution", "label_size", "fmap_base", "fmap_max", "latent_size",
                     "mbstd_group_size", "truncation_cutoff", "dlatent_size", "mapping_layers", "mapping_fmaps",
                     "mbstd_num_features", "z_dim", "c_dim", "w_dim", "img_resolution", "img_channels",
                     "channel_base", "channel_max", "mbstd_num_channels", "cmap_dim", "freeze_layers", "input_nc",
                     "input_size", "n_styles", "se_reduction", "units", "depths"), "whole"),
    **dict.fromkeys(("fmap_decay", "pixelnorm_epsilon", "truncation_psi", "dlatent_avg_beta", "style_mixing_prob",
                     "mapping_lrmul", "mapping_lr_multiplier", "w_avg_beta", "conv_clamp", "blur_filter"), "real"),
    **dict.fromkeys(("normalize_latents", "use_wscale", "use_pixelnorm", "use_leakyrelu", "use_noise",
                     "use_pixel_norm", "use_instance_norm", "start_from_latent_avg", "learn_in_w", "fused_scale"),
                    "bool"),
}
# Keys the loaders take as null (PGGAN's latent_size, StyleGAN's "no
# truncation", no clamp, no blur).
_NULLABLE = {"latent_size", "truncation_psi", "truncation_cutoff", "dlatent_avg_beta", "style_mixing_prob",
             "conv_clamp", "blur_filter"}


def _shown(v):
    return repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."


def setting_problem(key, v, family, strict=False):
    """What is wrong with config value v of key for the C++ loaders, or None.
    strict: a whole number must be an int (what is written); else a float
    that is one (TF kwargs such as fmap_base 8192.0) passes, taken as the int."""
    kind = _SETTING_KINDS.get(key)
    if kind is None or (v is None and key in _NULLABLE):
        return None
    if kind == "bool":
        ok = isinstance(v, bool) or (key == "fused_scale" and family == "stylegan" and v == "auto")
        return None if ok else "not true or false"
    if isinstance(v, (list, tuple)) and key in ("units", "depths", "blur_filter"):
        for i, x in enumerate(v):
            p = "not a number" if x is None else setting_problem(key, x, family, strict=True)
            if p:
                return f"element {i} {p}"
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return "not a number" if kind == "real" else "not a whole number"
    if not math.isfinite(v):
        return "not a finite number"
    if kind == "whole":
        if isinstance(v, float) and (strict or not v.is_integer()):
            return "not a whole number"
        if abs(v) > MAX_NETWORK_SIZE:
            return f"beyond +-{MAX_NETWORK_SIZE} (the largest network size the programs load)"
    return None


def checked_setting(key, v, where, family="stylegan2", source=""):
    """v (a NumPy scalar taken as its Python value) checked by setting_problem,
    as the int or float the loaders read; one line naming the setting else."""
    v = _plain(v)
    problem = setting_problem(key, v, family)
    if problem:
        raise ConvertError(f"{where}: {source}{key} is {_shown(v)}, {problem}: a damaged or edited file; "
                           "nothing written")
    if v is None or _SETTING_KINDS.get(key) not in ("whole", "real") or isinstance(v, (list, tuple)):
        return v
    return int(v) if _SETTING_KINDS[key] == "whole" else float(v)


def checked_settings(kw, where, family):
    """Every known key of static_kwargs (with the defaults) through checked_setting."""
    return {k: checked_setting(k, v, where, family, "static_kwargs ") if k in _SETTING_KINDS else v
            for k, v in kw.items()}


# ---------------------------------------------------------------- pickles

class PersistentObject:
    """What torch_utils.persistence would rebuild, without its source: the class
    name and the saved object state (a module's __dict__)."""

    def __init__(self, meta):
        if not isinstance(meta, dict) or not isinstance(meta.get("state"), dict):
            raise pickle.UnpicklingError("persistent object without a state dict")
        self.class_name = meta.get("class_name")
        self.module_src = meta.get("module_src") if isinstance(meta.get("module_src"), str) else ""
        self.state = meta["state"]


def _reconstruct_persistent_obj(meta):
    return PersistentObject(meta)


class EasyDict(dict):
    """Stand-in for dnnlib.util.EasyDict (plain data)."""


class TFNetwork:
    """Stand-in for PGGAN's tfutil.Network: keeps the pickled state (name,
    static_kwargs, variables, and build_module_src as text that is never run)."""

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise pickle.UnpicklingError("tfutil.Network state is not a dict")
        self.state = state


# TensorFlow network classes by the module and name their pickles record.
TF_NETWORK_CLASSES = {("tfutil", "Network"): TFNetwork, ("dnnlib.tflib.network", "Network"): TFNetwork}


# Tensors are rebuilt from raw bytes with numpy, never with torch.load (which on
# torch < 2.6 can run code even with weights_only=True, CVE-2025-32434). Storage
# types are mapped to dtypes by name only; the classes are never called.
_STORAGE_DTYPES = {
    "FloatStorage": ("<f4", None), "DoubleStorage": ("<f8", None), "HalfStorage": ("<f2", None),
    "BFloat16Storage": ("<i2", "bfloat16"), "LongStorage": ("<i8", None), "IntStorage": ("<i4", None),
    "ShortStorage": ("<i2", None), "CharStorage": ("i1", None), "ByteStorage": ("u1", None),
    "BoolStorage": ("?", None),
}


class StorageType:
    """Stand-in for torch.FloatStorage and the like: a name and a dtype."""

    def __init__(self, name):
        self.name = name
        self.np_dtype = np.dtype(_STORAGE_DTYPES[name][0])
        self.view_as = _STORAGE_DTYPES[name][1]

    def __call__(self, *args, **kwargs):
        raise pickle.UnpicklingError(f"pickle calls torch.{self.name}")

    def __setstate__(self, state):
        _refuse_build(self, state)


class StorageRef:
    """A storage persistent id: ('storage', type, key, location, numel[, view])."""

    def __init__(self, pid, where):
        if not isinstance(pid, tuple) or len(pid) not in (5, 6) or pid[0] not in ("storage", b"storage"):
            raise ConvertError(f"{where}: unexpected persistent id {str(pid)[:80]}")
        stype, key, _location, numel = pid[1:5]
        if not isinstance(stype, StorageType):
            raise ConvertError(f"{where}: persistent id names {str(stype)[:80]}, not a storage type")
        if not isinstance(key, str) or not isinstance(numel, int) or isinstance(numel, bool) or numel < 0:
            raise ConvertError(f"{where}: malformed storage persistent id")
        if len(pid) == 6 and pid[5] is not None:
            raise ConvertError(f"{where}: storage views are not supported")
        self.type, self.key, self.numel = stype, key, numel
        self.array = None  # filled in from the raw bytes
        self.rebuilt = 0   # elements copied out of it by tensors so far

    def __setstate__(self, state):
        _refuse_build(self, state)

    def set_bytes(self, raw, where):
        if len(raw) != self.numel * self.type.np_dtype.itemsize:
            raise ConvertError(f"{where}: storage {self.key} has {len(raw)} bytes, expected "
                               f"{self.numel} x {self.type.np_dtype.itemsize}")
        self.array = np.frombuffer(raw, dtype=self.type.np_dtype).copy()


def _int_tuple(v):
    return isinstance(v, (tuple, list)) and all(isinstance(x, int) and not isinstance(x, bool) for x in v)


_MAX_REBUILDS_PER_STORAGE = 8


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    if not isinstance(storage, StorageRef) or storage.array is None:
        raise pickle.UnpicklingError("tensor without a loaded storage")
    if not (isinstance(offset, int) and offset >= 0 and _int_tuple(size) and _int_tuple(stride)
            and len(size) == len(stride) and all(x >= 0 for x in tuple(size) + tuple(stride))):
        raise pickle.UnpicklingError(f"tensor with a bad layout (offset {offset}, size {size}, stride {stride})")
    # The last element must lie in the storage. More elements than the storage
    # holds is fine (an expand()ed tensor, stride 0, as torch.save keeps it);
    # the bound below keeps such views from asking for unbounded memory.
    if 0 not in size:
        last = offset + sum((n - 1) * st for n, st in zip(size, stride))
        if last >= storage.array.size:
            raise pickle.UnpicklingError(f"tensor of size {list(size)} does not fit its storage of {storage.array.size}")
    # Each tensor is a copy: a pickle that builds one storage's tensor over and
    # over would ask for memory without bound from a few bytes. Real files
    # share a storage between a few views at most.
    storage.rebuilt += math.prod(size)
    if storage.rebuilt > _MAX_REBUILDS_PER_STORAGE * max(storage.array.size, 1 << 16):
        raise pickle.UnpicklingError(f"storage {storage.key} is rebuilt into tensors more than "
                                     f"{_MAX_REBUILDS_PER_STORAGE} times its size")
    t = torch.from_numpy(storage.array)
    if storage.type.view_as:
        t = t.view(getattr(torch, storage.type.view_as))
    return _guard_tensor(t.as_strided(tuple(size), tuple(stride), offset).clone())


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    if not isinstance(data, torch.Tensor):
        raise pickle.UnpicklingError("parameter without a tensor")
    return data


class Namespace:
    """Stand-in for argparse.Namespace (rosinality checkpoints record their args)."""


def _np_core():
    return getattr(np, "_core", None) or np.core


def _refuse_build(self, state):
    """BUILD on an object the unpickler's stand-ins make: no real file does it,
    and a StorageRef's counters or a StorageType's dtype set by the file would
    undo their checks."""
    raise pickle.UnpicklingError(f"pickle sets the state of a {type(self).__name__}")


def _refuse_tensor_state(state):
    # Tensor.__setstate__ with 4 items is set_(), which grows a storage to any
    # size the file names; torch.save never BUILDs a tensor.
    raise pickle.UnpicklingError("pickle sets the state of a tensor")


def _guard_tensor(t):
    """An instance attribute wins over Tensor.__setstate__ in BUILD's lookup."""
    t.__dict__["__setstate__"] = _refuse_tensor_state
    return t


# NumPy objects a network pickle holds: numeric scalars (module attributes)
# and numeric arrays (TF variables), as NumPy pickles them. Each call is
# checked before NumPy sees it: object, structured or subarray dtypes let a
# file forge pointers, nest arrays past the C stack or ask for gigabytes.
_NUMPY_CODES = frozenset(["b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "c8", "c16"])
_MAX_ARRAY_DIMS = 32  # NPY_MAXDIMS


def _exactly(v, want):
    """v equals want item by item and type by type (True is not 1, 1.0 is not 1)."""
    return (type(v) is type(want) and len(v) == len(want)
            and all(type(a) is type(b) and a == b for a, b in zip(v, want)))


def _numpy_bytes(data):
    # A Python 2 pickle's str holds the bytes: read here as ASCII (the
    # unpickler's default encoding; bytes past 0x7f fail to load), as NumPy
    # reads it when loaded with latin-1.
    return data.encode("latin-1") if isinstance(data, str) else data


class NumpyDtype:
    """numpy.dtype(code, False, True) of a numeric code, as NumPy pickles a
    dtype, and its BUILD state only in the form NumPy writes for it; made into
    a real dtype by the scalar and array stand-ins."""
    __slots__ = ("code", "order")

    def __init__(self, code, align=False, copy=True):
        if not (isinstance(code, str) and code in _NUMPY_CODES and type(align) in (bool, int) and align == 0
                and type(copy) in (bool, int) and copy == 1):
            raise pickle.UnpicklingError(f"pickle asks for numpy dtype {str(code)[:40]!r}; numeric dtypes only")
        self.code, self.order = code, "|" if code[1:] == "1" else "<"

    def __setstate__(self, state):
        orders = ("|",) if self.code[1:] == "1" else ("<", ">")
        if not any(_exactly(state, (3, o, None, None, None, -1, -1, 0)) for o in orders):
            raise pickle.UnpicklingError(f"pickle gives numpy dtype {self.code} a state other than a plain "
                                         "number's (fields, a subarray or flags)")
        self.order = state[1]

    def real(self):
        return np.dtype(self.code).newbyteorder(self.order)


def _numpy_scalar(dtype, data=None):
    """numpy.core.multiarray.scalar(dtype, bytes of one item)."""
    data = _numpy_bytes(data)
    if not isinstance(dtype, NumpyDtype) or not isinstance(data, bytes) or len(data) != dtype.real().itemsize:
        raise pickle.UnpicklingError("pickle makes a numpy scalar other than a number from its bytes")
    return _np_core().multiarray.scalar(dtype.real(), data)


class NumpyArrayType:
    """Stand-in for numpy.ndarray: only named to _reconstruct, never called
    (a call allocates whatever shape the file names)."""
    __slots__ = ()
    __setstate__ = _refuse_build

    def __call__(self, *args, **kwargs):
        raise pickle.UnpicklingError("pickle calls numpy.ndarray")


NUMPY_NDARRAY = NumpyArrayType()


class NumpyArray(np.ndarray):
    """What _reconstruct makes: its state (NumPy's (1, shape, dtype,
    is_fortran, raw bytes)) checked before ndarray.__setstate__ sees it."""

    def __setstate__(self, state):
        if not (type(state) is tuple and len(state) == 5 and _exactly(state[:1], (1,))
                and isinstance(state[2], NumpyDtype) and type(state[3]) is bool):
            raise pickle.UnpicklingError("pickle gives a numpy array a state other than NumPy's (1, shape, dtype, "
                                         "is_fortran, bytes)")
        shape, dtype, raw = state[1], state[2].real(), _numpy_bytes(state[4])
        if not (_int_tuple(shape) and type(shape) is tuple and len(shape) <= _MAX_ARRAY_DIMS
                and all(0 <= n < 1 << 40 for n in shape)):
            raise pickle.UnpicklingError("pickle gives a numpy array a shape other than up to 32 sizes in [0, 2^40)")
        if not isinstance(raw, bytes) or len(raw) != math.prod(shape) * dtype.itemsize:
            raise pickle.UnpicklingError(f"numpy array of shape {list(shape)} and dtype {dtype} with "
                                         f"{len(raw) if isinstance(raw, bytes) else 'no'} bytes of data")
        super().__setstate__((1, shape, dtype, state[3], raw))


def _numpy_reconstruct(subtype, shape, typecode):
    """numpy.core.multiarray._reconstruct(ndarray, (0,), b'b'), NumPy's first
    step in unpickling an array: an empty one, filled in by BUILD."""
    if subtype is not NUMPY_NDARRAY or not _exactly(shape, (0,)) or _numpy_bytes(typecode) != b"b":
        raise pickle.UnpicklingError("pickle calls numpy's _reconstruct other than as NumPy pickles an array")
    return _np_core().multiarray._reconstruct(NumpyArray, (0,), b"b")


def _allowed_globals(storage_loader=None):
    allowed = {
        ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
        ("dnnlib.util", "EasyDict"): EasyDict,
        ("dnnlib", "EasyDict"): EasyDict,
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("argparse", "Namespace"): Namespace,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
        ("numpy", "dtype"): NumpyDtype,
        ("numpy", "ndarray"): NUMPY_NDARRAY,
        **TF_NETWORK_CLASSES,
    }
    if storage_loader is not None:
        allowed[("torch.storage", "_load_from_bytes")] = storage_loader
    # Module attributes such as weight_gain are numpy scalars; these rebuild
    # numeric scalars and arrays from raw bytes.
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "scalar")] = _numpy_scalar
        allowed[(mod, "_reconstruct")] = _numpy_reconstruct
    return allowed


def _storage_globals():
    return {("torch", name): StorageType(name) for name in _STORAGE_DTYPES}


_MEMO_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}


def _check_memo(f, path):
    """Refuses a pickle that stores into a memo slot beyond any a pickler
    makes: the C unpickler grows its memo array to the index, so 9 bytes
    asking for slot 2^30 took 17 GB and half a minute. A pickler numbers its
    slots in order, so a slot index is never above the opcodes read so far.
    Reads from f's position to the STOP opcode, then puts f back."""
    start = f.tell()
    try:
        for count, (op, arg, _) in enumerate(pickletools.genops(f)):
            if op.name in _MEMO_PUTS and arg > count:
                raise ConvertError(f"{path}: a damaged pickle (it stores into memo slot {arg} after "
                                   f"{count} opcodes); nothing written")
    except ConvertError:
        raise
    except Exception:  # a malformed stream: the unpickler itself names it
        pass
    finally:
        f.seek(start)


class RestrictedUnpickler(pickle.Unpickler):
    """allowed: {(module, name): object}; storages: None (persistent ids refused)
    or a dict collecting the StorageRefs by key; script_classes: None (refused)
    or a ScriptClasses that stands in for a TorchScript archive's __torch__.* classes."""

    def __init__(self, f, path, allowed=None, storages=None, script_classes=None):
        _check_memo(f, path)
        super().__init__(f)
        self.path = path
        self.allowed = _allowed_globals() if allowed is None else allowed
        self.storages = storages
        self.script_classes = script_classes

    def find_class(self, module, name):
        if (module, name) == ("network", "Network"):
            raise ConvertError(f"{self.path}: a Theano-era PGGAN pickle (network.Network); load it with the "
                               "official code (legacy.py) and save it again as a TensorFlow pickle")
        if self.script_classes is not None and (module == "__torch__" or module.startswith("__torch__.")):
            return self.script_classes.get(module, name)
        fn = self.allowed.get((module, name))
        if fn is None:
            raise ConvertError(f"{self.path}: pickle asks for {module}.{name}, refusing")
        return fn

    def persistent_load(self, pid):
        if self.storages is None:
            raise ConvertError(f"{self.path}: pickle uses persistent ids (a torch.save file?), refusing")
        ref_ = StorageRef(pid, self.path)
        prev = self.storages.get(ref_.key)
        if prev is not None:
            if prev.type.name != ref_.type.name or prev.numel != ref_.numel:
                raise ConvertError(f"{self.path}: storage {ref_.key} recorded with two types or sizes")
            return prev
        self.storages[ref_.key] = ref_
        return ref_


def _guarded(path, fn):
    try:
        return fn()
    except ConvertError:
        raise
    except Exception as e:  # truncated or malformed streams raise many types
        why = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        raise ConvertError(f"{path}: not a readable pickle ({why})")


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


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


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


# ---------------------------------------------------------------- PGGAN (TensorFlow pickles)

def is_tf_networks(top):
    return isinstance(top, tuple) and len(top) > 0 and all(isinstance(n, TFNetwork) for n in top)


def _plain_value(v, where):
    """static_kwargs values: plain Python data (NumPy scalars become numbers)."""
    v = _plain(v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [_plain_value(x, where) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain_value(x, where) for k, x in v.items()}
    raise ConvertError(f"{where}: a static_kwargs value of type {type(v).__name__}")


def _variable_as_float32(value, name, where):
    """A float16/32/64 variable as float32. A finite float64 beyond float32's
    range is named here: the cast made it inf (with NumPy's RuntimeWarning on
    stderr) and the weight check then blamed the file for an inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = value.astype(np.float32)
    overflow = np.isfinite(value) & ~np.isfinite(out)
    if overflow.any():
        at = [int(i) for i in np.argwhere(overflow)[0]]
        raise ConvertError(f"{where}: variable {name} holds {float(value[tuple(at)])!r} at {at}, beyond float32's "
                           f"range ({int(overflow.sum())} values overflow float32); ganforge's weights are float32")
    return out


def tf_network_state(net, path, which, version=2):
    """One tfutil.Network's pickled state, checked: its version (2: PGGAN's
    tfutil; 3: StyleGAN's dnnlib.tflib, with components; 4: StyleGAN2's), its kwargs, and its
    variables as {name: float32 array} (official order); "components" maps a
    component's key to its own state."""
    where = f"{path}: {which}"
    if not isinstance(net, TFNetwork):
        raise ConvertError(f"{where}: not a TensorFlow network object")
    st = net.state
    if st.get("version") != version:
        raise ConvertError(f"{where}: network state version {str(st.get('version'))[:20]}, expected {version} "
                           + {2: "(the tfutil.Network of progressive_growing_of_gans)",
                              3: "(the dnnlib.tflib.network.Network of NVlabs/stylegan)",
                              4: "(the dnnlib.tflib.network.Network of NVlabs/stylegan2)"}[version])
    for key, typ in (("name", str), ("build_func_name", str), ("build_module_src", str), ("static_kwargs", dict),
                     ("variables", (list, tuple))):
        if not isinstance(st.get(key), typ):
            raise ConvertError(f"{where}: network state has no {key} of type {typ if isinstance(typ, type) else 'list'}")
    variables = collections.OrderedDict()
    for item in st["variables"]:
        if not (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], (np.ndarray, np.generic))):
            raise ConvertError(f"{where}: variables are not (name, array) pairs")
        name, value = item[0], np.asarray(item[1])
        if name in variables:
            raise ConvertError(f"{where}: variable {name} appears twice")
        if value.dtype.kind != "f":
            raise ConvertError(f"{where}: variable {name} has dtype {value.dtype}, expected a float array")
        variables[name] = _variable_as_float32(value, name, where)
    kwargs = {str(k): _plain_value(v, where) for k, v in st["static_kwargs"].items()}
    components = {}
    if version >= 3:
        comps = st.get("components", {})
        if not isinstance(comps, dict):
            raise ConvertError(f"{where}: components is not a dict")
        components = {str(k): tf_network_state(c, path, f"{which}.{k}", version) for k, c in comps.items()}
    return {"func": st["build_func_name"], "name": st["name"], "kwargs": kwargs, "variables": variables,
            "components": components}


def read_pggan_pickle(top, path):
    """(G, D, Gs) -> {"G", "D", "G_ema"}: network states."""
    if len(top) != 3:
        raise ConvertError(f"{path}: holds {len(top)} TensorFlow networks; an official PGGAN pickle is (G, D, Gs)")
    nets = {}
    for key, which, func in (("G", "G", "G_paper"), ("D", "D", "D_paper"), ("G_ema", "Gs", "G_paper")):
        state = tf_network_state(top[len(nets)], path, which)
        if state["func"] != func:
            raise ConvertError(f"{path}: {which} is built by '{state['func'][:40]}'; ganforge imports PGGAN's "
                               f"G_paper and D_paper networks (expected {func})")
        nets[key] = state
    return nets


def _stage_channels(fmap_base, fmap_decay, fmap_max, stages, where="the network"):
    try:
        return [pgref.nf(s, dict(fmap_base=fmap_base, fmap_decay=fmap_decay, fmap_max=fmap_max)) for s in stages]
    except (OverflowError, ZeroDivisionError):  # 2.0 ** (stage * decay) beyond a float: the official nf() fails too
        raise ConvertError(f"{where}: fmap_decay {fmap_decay!r} is out of range: the official nf() computes "
                           f"fmap_base / 2 ** (stage * fmap_decay), which overflows for stages {stages[0]}-{stages[-1]}")


def _infer_fmaps(kw, measured, where):
    """fmap_base/decay/max giving the measured channels per stage: the kwargs'
    (official defaults where absent), else a base and max with decay 1."""
    stages = sorted(measured)
    want = [measured[s] for s in stages]
    empty = [s for s in stages if measured[s] < 1]
    if empty:  # fmap_base too small for the resolution: ganforge's layers need a feature map (nf() >= 1)
        res = 2 ** (empty[0] + 1)
        raise ConvertError(f"{where}: no feature maps at {res}x{res} (stage {empty[0]}); ganforge's networks need "
                           f"at least one per layer")
    if _stage_channels(kw["fmap_base"], kw["fmap_decay"], kw["fmap_max"], stages, f"{where}: static_kwargs") == want:
        return kw
    cmax = max(want)
    below = [c * 2 ** s for s, c in measured.items() if c < cmax]
    base = max(below) if below else cmax * 2 ** max(stages)
    if _stage_channels(base, 1.0, cmax, stages) != want:
        raise ConvertError(f"{where}: feature maps per stage {dict(zip(stages, want))} fit no fmap_base/fmap_max")
    return dict(kw, fmap_base=base, fmap_decay=1.0, fmap_max=cmax)


def _check_variables(variables, expected, where):
    missing = [n for n in expected if n not in variables]
    extra = [n for n in variables if n not in expected]
    more = lambda names: f" (and {len(names) - 1} more)" if len(names) > 1 else ""  # noqa: E731
    if missing:
        raise ConvertError(f"{where}: missing variable {missing[0]}{more(missing)}")
    if extra:
        raise ConvertError(f"{where}: unexpected variable {extra[0]}{more(extra)}")
    for n, shape in expected.items():
        if list(variables[n].shape) != list(shape):
            raise ConvertError(f"{where}: variable {n} has shape {list(variables[n].shape)}, expected {list(shape)}")


def _ignored_kwargs(kwargs, known, where):
    ignored = sorted(k for k in kwargs if k not in known)
    if ignored:
        print(f"convert_weights: note: {where}: static_kwargs {', '.join(ignored)} have no effect on the network "
              "(the official build function ignores them too)", file=sys.stderr)


def _top_lod(variables, prefix, where):
    lods = [int(m.group(1)) for n in variables for m in [re.match(prefix + r"_lod(\d+)/weight$", n)] if m]
    if not lods:
        raise ConvertError(f"{where}: no {prefix}_lod<k>/weight variable (not a PGGAN network?)")
    return max(lods)


def pggan_g_kwargs(net, where, label_size):
    """label_size: D's label count, used when the pickle's kwargs lack it."""
    v, sk = net["variables"], net["kwargs"]
    _ignored_kwargs(sk, set(pgref.G_DEFAULTS) | {"dtype", "structure", "mbstd_group_size"}, where)
    if sk.get("dtype", "float32") not in ("float32", "float16"):
        raise ConvertError(f"{where}: dtype {sk['dtype']} is not supported")
    kw = dict(pgref.G_DEFAULTS)
    kw.update({k: sk[k] for k in pgref.G_DEFAULTS if k in sk})
    kw = checked_settings(kw, where, "pggan")  # a string or 1e30 reached nf() unchecked
    if "label_size" not in sk:
        kw["label_size"] = label_size
    L = _top_lod(v, "ToRGB", where) + 2
    kw["resolution"] = 2 ** L
    if "ToRGB_lod0/weight" in v:
        kw["num_channels"] = tensor_dims(v["ToRGB_lod0/weight"], "ToRGB_lod0/weight", where, 4, kind="variable")[3]
    kw["fused_scale"] = any(n.endswith("/Conv0_up/weight") for n in v) if L > 2 else kw["fused_scale"]
    if "4x4/Dense/weight" not in v:
        raise ConvertError(f"{where}: missing variable 4x4/Dense/weight")
    dense_in, dense_out = v["4x4/Dense/weight"].shape if v["4x4/Dense/weight"].ndim == 2 else (0, 0)
    measured = {1: dense_out // 16}
    for res in range(3, L + 1):
        name = f"{2 ** res}x{2 ** res}/Conv1/weight"
        if name in v and v[name].ndim == 4:
            measured[res - 1] = int(v[name].shape[3])
    kw = _infer_fmaps(kw, measured, where)
    if kw["latent_size"] is None:  # official None is nf(0); the shape must agree (checked below)
        kw["latent_size"] = dense_in - kw["label_size"]
    _check_variables(v, pgref.g_variables(**kw), where)
    return kw


def pggan_d_kwargs(net, where, mbstd_group_size):
    v, sk = net["variables"], net["kwargs"]
    _ignored_kwargs(sk, set(pgref.D_DEFAULTS) | {"dtype", "structure", "latent_size", "normalize_latents",
                                                 "use_pixelnorm", "pixelnorm_epsilon", "use_leakyrelu"}, where)
    kw = dict(pgref.D_DEFAULTS)
    kw.update({k: sk[k] for k in pgref.D_DEFAULTS if k in sk})
    kw = checked_settings(kw, where, "pggan")
    if mbstd_group_size is not None:
        kw["mbstd_group_size"] = mbstd_group_size
    L = _top_lod(v, "FromRGB", where) + 2
    kw["resolution"] = 2 ** L
    if "FromRGB_lod0/weight" in v:
        kw["num_channels"] = tensor_dims(v["FromRGB_lod0/weight"], "FromRGB_lod0/weight", where, 4, kind="variable")[2]
    kw["fused_scale"] = any(n.endswith("/Conv1_down/weight") for n in v) if L > 2 else kw["fused_scale"]
    if "4x4/Dense1/weight" in v and v["4x4/Dense1/weight"].ndim == 2:
        kw["label_size"] = int(v["4x4/Dense1/weight"].shape[1]) - 1
    measured = {}
    for lod in range(0, L - 1):
        name = f"FromRGB_lod{lod}/weight"
        if name in v and v[name].ndim == 4:
            measured[L - lod - 1] = int(v[name].shape[3])
    if "4x4/Dense0/weight" in v and v["4x4/Dense0/weight"].ndim == 2:
        measured[0] = int(v["4x4/Dense0/weight"].shape[1])
    kw = _infer_fmaps(kw, measured, where)
    conv = v.get("4x4/Conv/weight")
    if conv is not None and conv.ndim == 4:
        has_mbstd = conv.shape[2] == pgref.nf(1, kw) + 1
        if has_mbstd != (kw["mbstd_group_size"] > 1):
            raise ConvertError(f"{where}: 4x4/Conv reads {conv.shape[2]} feature maps, which "
                               f"{'includes' if has_mbstd else 'excludes'} a minibatch-stddev map, but the group "
                               f"size is {kw['mbstd_group_size']} (--mbstd-group-size)")
    _check_variables(v, pgref.d_variables(**kw), where)
    return kw


def convert_pggan(nets, path, args):
    """-> (tensors with bundle names in ganforge layouts, metadata)."""
    tensors, meta = {}, {"family": "pggan"}
    g_kwargs = d_kwargs = None
    for key in ("D", "G", "G_ema"):
        where = f"{path}: {'Gs' if key == 'G_ema' else key}"
        net = nets[key]
        if key == "D":
            kwargs = d_kwargs = pggan_d_kwargs(net, where, args.mbstd_group_size)
            meta["D_kwargs"] = json.dumps(kwargs)
        else:
            kwargs = pggan_g_kwargs(net, where, d_kwargs["label_size"])
            if g_kwargs is not None and g_kwargs != kwargs:
                raise ConvertError(f"{path}: G and Gs have different configurations")
            g_kwargs = kwargs
            meta["G_kwargs"] = json.dumps(kwargs)
        for name, value in net["variables"].items():
            # np.array, not ascontiguousarray: the scalar lod keeps its shape [].
            tensors[f"{key}.{name}"] = torch.from_numpy(np.array(pgref.to_ganforge(name, value), order="C"))
    return tensors, meta


# ---------------------------------------------------------------- StyleGAN (v1) pickles

def tf_version(top):
    st = getattr(top[0], "state", None)
    return st.get("version") if isinstance(st, dict) else None


def read_stylegan_pickle(top, path):
    """(G, D, Gs) of dnnlib.tflib networks (state version 3) -> {"G", "D",
    "G_ema"}: each {"kwargs", "variables"} with G's component variables
    flattened under "G_mapping/" and "G_synthesis/" and its kwargs merged
    (G_style passes its kwargs to both components, as the official code)."""
    if len(top) != 3:
        raise ConvertError(f"{path}: holds {len(top)} TensorFlow networks; an official StyleGAN pickle is (G, D, Gs)")
    nets = {}
    for i, (key, which, func) in enumerate((("G", "G", "G_style"), ("D", "D", "D_basic"), ("G_ema", "Gs", "G_style"))):
        state = tf_network_state(top[i], path, which, 3)
        if state["func"] != func:
            raise ConvertError(f"{path}: {which} is built by '{state['func'][:40]}'; ganforge imports StyleGAN's "
                               f"G_style and D_basic networks (expected {func})")
        if key == "D":
            nets[key] = state
            continue
        kwargs, variables = dict(state["kwargs"]), collections.OrderedDict(state["variables"])
        for comp, prefix, cfunc in (("mapping", "G_mapping", "G_mapping"), ("synthesis", "G_synthesis", "G_synthesis")):
            c = state["components"].get(comp)
            if c is None:
                raise ConvertError(f"{path}: {which} has no {comp} component")
            if c["func"] != cfunc:
                raise ConvertError(f"{path}: {which}.{comp} is built by '{c['func'][:40]}', expected {cfunc}")
            for k, v in c["kwargs"].items():
                kwargs.setdefault(k, v)
            for n, a in c["variables"].items():
                variables[f"{prefix}/{n}"] = a
        nets[key] = dict(state, kwargs=kwargs, variables=variables)
    return nets


def _sg_note_ignored(sk, known, where):
    _ignored_kwargs(sk, set(known) | {"dtype", "structure", "use_styles", "const_input_layer", "randomize_noise",
                                      "is_template_graph", "truncation_psi_val", "truncation_cutoff_val",
                                      "dlatent_broadcast", "components", "func_name"}, where)


def stylegan_g_kwargs(net, where, label_size, mapping_lrmul=None):
    v, sk = net["variables"], net["kwargs"]
    _sg_note_ignored(sk, sgref.G_DEFAULTS, where)
    for key in ("use_styles", "const_input_layer"):
        if key in sk and not sk[key]:
            raise ConvertError(f"{where}: {key} false is not supported")
    kw = dict(sgref.G_DEFAULTS)
    kw.update({k: sk[k] for k in sgref.G_DEFAULTS if k in sk})
    kw = checked_settings(kw, where, "stylegan")
    if mapping_lrmul is not None:  # --mapping-lr-multiplier, as the PGGAN and StyleGAN2 importers take it
        kw["mapping_lrmul"] = mapping_lrmul
    for k in ("truncation_psi", "truncation_cutoff", "dlatent_avg_beta", "style_mixing_prob", "blur_filter"):
        if k in sk and sk[k] is None:
            kw[k] = {"truncation_psi": 1.0, "truncation_cutoff": 0, "dlatent_avg_beta": 1.0,
                     "style_mixing_prob": 0.0, "blur_filter": None}[k]
    L = _top_lod(v, "G_synthesis/ToRGB", where) + 2
    kw["resolution"] = 2 ** L
    rgb = v.get("G_synthesis/ToRGB_lod0/weight")
    if rgb is not None and rgb.ndim == 4:
        kw["num_channels"] = int(rgb.shape[3])
    lc = v.get("G_mapping/LabelConcat/weight")
    kw["label_size"] = int(lc.shape[0]) if lc is not None and lc.ndim == 2 else 0
    dense = sorted(int(m.group(1)) for n in v for m in [re.match(r"G_mapping/Dense(\d+)/weight$", n)] if m)
    if not dense or dense != list(range(len(dense))):
        raise ConvertError(f"{where}: mapping layers G_mapping/Dense<i> missing or not numbered from 0")
    kw["mapping_layers"] = len(dense)
    d0, dl = v["G_mapping/Dense0/weight"], v[f"G_mapping/Dense{len(dense) - 1}/weight"]
    if d0.ndim == 2 and dl.ndim == 2:
        kw["latent_size"] = int(d0.shape[0]) // (2 if kw["label_size"] else 1)
        kw["dlatent_size"] = int(dl.shape[1])
        if len(dense) > 1:
            kw["mapping_fmaps"] = int(d0.shape[1])
    kw["use_noise"] = any(n.startswith("G_synthesis/noise") for n in v)
    measured = {}
    for res in range(2, L + 1):
        name = f"G_synthesis/{2 ** res}x{2 ** res}/" + ("Conv" if res == 2 else "Conv1") + "/weight"
        if name in v and v[name].ndim == 4:
            measured[res - 1] = int(v[name].shape[3])
    kw = _infer_fmaps(kw, measured, where)
    _check_variables(v, sgref.g_variables(**kw), where)
    return kw


def stylegan_d_kwargs(net, where, mbstd_group_size=None):
    v, sk = net["variables"], net["kwargs"]
    _sg_note_ignored(sk, sgref.D_DEFAULTS, where)
    kw = dict(sgref.D_DEFAULTS)
    kw.update({k: sk[k] for k in sgref.D_DEFAULTS if k in sk})
    kw = checked_settings(kw, where, "stylegan")
    given = mbstd_group_size is not None  # --mbstd-group-size: checked against the variables below
    if given:
        kw["mbstd_group_size"] = mbstd_group_size
    if "blur_filter" in sk and sk["blur_filter"] is None:
        kw["blur_filter"] = None
    L = _top_lod(v, "FromRGB", where) + 2
    kw["resolution"] = 2 ** L
    if "FromRGB_lod0/weight" in v and v["FromRGB_lod0/weight"].ndim == 4:
        kw["num_channels"] = int(v["FromRGB_lod0/weight"].shape[2])
    d1 = v.get("4x4/Dense1/weight")
    if d1 is not None and d1.ndim == 2 and d1.shape[1] > 1:
        kw["label_size"] = int(d1.shape[1])
    measured = {}
    for lod in range(0, L - 1):
        name = f"FromRGB_lod{lod}/weight"
        if name in v and v[name].ndim == 4:
            measured[L - lod - 1] = int(v[name].shape[3])
    if "4x4/Dense0/weight" in v and v["4x4/Dense0/weight"].ndim == 2:
        measured[0] = int(v["4x4/Dense0/weight"].shape[1])
    kw = _infer_fmaps(kw, measured, where)
    conv = v.get("4x4/Conv/weight")
    if conv is not None and conv.ndim == 4:
        extra = int(conv.shape[2]) - sgref.nf(1, kw)
        if given and (extra > 0) != (kw["mbstd_group_size"] > 1):
            raise ConvertError(f"{where}: 4x4/Conv reads {conv.shape[2]} feature maps, which "
                               f"{'includes' if extra > 0 else 'excludes'} minibatch-stddev maps, but the group "
                               f"size is {kw['mbstd_group_size']} (--mbstd-group-size)")
        if extra == 0:
            kw["mbstd_group_size"] = 0 if kw["mbstd_group_size"] > 1 else kw["mbstd_group_size"]
        elif kw["mbstd_group_size"] > 1:
            kw["mbstd_num_features"] = extra
    _check_variables(v, sgref.d_variables(**kw), where)
    return kw


def convert_stylegan(nets, path, args):
    """-> (tensors with bundle names in ganforge layouts, metadata family "stylegan")."""
    tensors, meta = {}, {"family": "stylegan"}
    d_kwargs = stylegan_d_kwargs(nets["D"], f"{path}: D", args.mbstd_group_size)
    meta["D_kwargs"] = json.dumps(d_kwargs)
    g_kwargs = None
    for key in ("G", "G_ema"):
        kw = stylegan_g_kwargs(nets[key], f"{path}: {'Gs' if key == 'G_ema' else key}", d_kwargs["label_size"],
                               args.mapping_lr_multiplier)
        if g_kwargs is not None and g_kwargs != kw:
            raise ConvertError(f"{path}: G and Gs have different configurations")
        g_kwargs = kw
    meta["G_kwargs"] = json.dumps(g_kwargs)
    for key in ("D", "G", "G_ema"):
        for name, value in nets[key]["variables"].items():
            tensors[f"{key}.{name}"] = torch.from_numpy(np.array(sgref.to_ganforge(name, value), order="C"))
    return tensors, meta


# ---------------------------------------------------------------- CelebA-HQ attribute classifiers (LS)

# StyleGAN (v1)'s Linear Separability metric (metrics/linear_separability.py)
# runs 40 attribute classifiers, celebahq-classifier-NN-<name>.pkl: each one
# TensorFlow network, PGGAN's D_paper (RGB, no labels, no minibatch-stddev
# map) whose one output is the attribute's logit.
CLASSIFIER_COUNT = 40
CLASSIFIER_FILE = re.compile(r"^celebahq-classifier-([0-9]+)-(.+)\.pkl$")  # ASCII digits: \d takes any script's
CLASSIFIERS_HINT = ("--format celebahq-classifiers takes the folder holding celebahq-classifier-00-male.pkl ... "
                    "celebahq-classifier-39-wearing-necktie.pkl")


def classifier_files(folder):
    """{index: (name, path)} of the folder's celebahq-classifier-NN-<name>.pkl
    files, exactly one for each index 00..39; other names are passed over."""
    if not os.path.isdir(folder):
        what = "does not exist" if not os.path.lexists(folder) else "is not a folder"
        raise ConvertError(f"{folder}: {what}; {CLASSIFIERS_HINT}")
    try:
        entries = sorted(os.listdir(folder))
    except OSError as e:
        raise ConvertError(f"{folder}: cannot list its files ({e.strerror})")
    found = {}
    for entry in entries:
        m = CLASSIFIER_FILE.match(entry)
        if not m:
            continue
        if len(m.group(1)) != 2 or int(m.group(1)) >= CLASSIFIER_COUNT:
            raise ConvertError(f"{folder}: {entry}: index {m.group(1)} is not one of 00..{CLASSIFIER_COUNT - 1}")
        i = int(m.group(1))
        if i in found:
            raise ConvertError(f"{folder}: two classifiers for index {i:02d}: {os.path.basename(found[i][1])} and "
                               f"{entry}; keep one")
        found[i] = (m.group(1) + "-" + m.group(2), os.path.join(folder, entry))
    missing = [i for i in range(CLASSIFIER_COUNT) if i not in found]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ConvertError(f"{folder}: no classifier for index {missing[0]:02d} (celebahq-classifier-{missing[0]:02d}-"
                           f"<name>.pkl){more}; the metric runs all {CLASSIFIER_COUNT}")
    return found


def read_classifier_pickle(path):
    """One classifier pickle -> its checked TF network state (versions 2 and 3)."""
    top = _restricted_load(read_input_file(path), path)
    if isinstance(top, tuple) and top and all(isinstance(n, TFNetwork) for n in top):
        raise ConvertError(f"{path}: holds {len(top)} TensorFlow networks (a GAN pickle such as (G, D, Gs)); a "
                           "CelebA-HQ attribute classifier pickle holds one D_paper network")
    if not isinstance(top, TFNetwork):
        raise ConvertError(f"{path}: not a TensorFlow network pickle (top level is {type(top).__name__}); a "
                           "CelebA-HQ attribute classifier pickle holds one D_paper network")
    version = top.state.get("version")
    if version not in (2, 3):
        raise ConvertError(f"{path}: network state version {str(version)[:20]}; a CelebA-HQ attribute classifier's "
                           "is 2 (PGGAN's tfutil.Network) or 3 (NVlabs/stylegan's dnnlib.tflib.network.Network)")
    state = tf_network_state(top, path, "the classifier", version)
    if state["func"] != "D_paper":
        raise ConvertError(f"{path}: the network is built by '{state['func'][:40]}'; a CelebA-HQ attribute "
                           "classifier is PGGAN's D_paper")
    if state["components"]:
        raise ConvertError(f"{path}: the network has components ({', '.join(sorted(state['components']))[:80]}); "
                           "PGGAN's D_paper has none")
    return state


def classifier_kwargs(net, where):
    """D_kwargs of one classifier, as pggan_d_kwargs gives a PGGAN D's: the
    group size from static_kwargs, else from 4x4/Conv's input maps (0: none)."""
    conv = net["variables"].get("4x4/Conv/weight")
    group = None
    no_map = conv is not None and conv.ndim == 4 and conv.shape[2] == conv.shape[3]  # reads nf(1) maps, writes nf(1)
    if "mbstd_group_size" not in net["kwargs"] and no_map:
        group = 0
    kw = pggan_d_kwargs(net, where, group)
    if kw["mbstd_group_size"] > 1:
        raise ConvertError(f"{where}: the network has a minibatch-stddev layer (group size {kw['mbstd_group_size']});"
                           " a CelebA-HQ attribute classifier scores each image alone")
    if kw["label_size"] != 0:
        raise ConvertError(f"{where}: the network has {kw['label_size']} label outputs; a CelebA-HQ attribute "
                           "classifier has one output, the logit")
    if kw["num_channels"] != 3:
        raise ConvertError(f"{where}: the network reads {kw['num_channels']} channel"
                           f"{'' if kw['num_channels'] == 1 else 's'}; a CelebA-HQ attribute "
                           "classifier reads RGB images (3)")
    check_kwargs({"family": "pggan", "D_kwargs": json.dumps(kw)}, where)
    return kw


def convert_celebahq_classifiers(folder):
    """The folder's 40 classifiers -> (tensors "classifier_NN.<variable>" in
    ganforge's layouts, as convert_pggan names D's, metadata "perceptual" =
    "celebahq-classifiers", "classifiers" (the 40 names, JSON) and
    "classifier_NN_kwargs" (D_kwargs, models/pggan/config.h))."""
    files = classifier_files(folder)
    tensors, names = {}, []
    meta = {"perceptual": "celebahq-classifiers"}
    for i in range(CLASSIFIER_COUNT):
        name, path = files[i]
        net = read_classifier_pickle(path)
        kw = classifier_kwargs(net, path)
        meta[f"classifier_{i:02d}_kwargs"] = json.dumps(kw)
        first = json.loads(meta["classifier_00_kwargs"])["resolution"]
        if kw["resolution"] != first:  # the metric brings every image to one side for all 40
            raise ConvertError(f"{path}: the network takes {kw['resolution']}x{kw['resolution']} images, "
                               f"{os.path.basename(files[0][1])} {first}x{first}; the 40 classifiers take one side "
                               "(the official's 256x256)")
        names.append(name)
        for var, value in net["variables"].items():
            tensors[f"classifier_{i:02d}.{var}"] = torch.from_numpy(np.array(pgref.to_ganforge(var, value), order="C"))
    meta["classifiers"] = json.dumps(names)
    return tensors, meta


# ---------------------------------------------------------------- StyleGAN2 (TensorFlow pickles)

# NVlabs/stylegan2's build functions for configs E and F (run_training.py):
# G_main with the components mapping (G_mapping) and synthesis
# (G_synthesis_stylegan2), and D_stylegan2.
SG2_TF_FUNCS = {"G": "G_main", "D": "D_stylegan2", "mapping": "G_mapping", "synthesis": "G_synthesis_stylegan2"}
# Their keyword arguments (the build functions take the rest as **_kwargs and
# ignore it). StyleGAN2-ADA's TF networks (G_synthesis, D_main) are other
# build functions and are refused by name.
_SG2_TF_COMMON = {"num_channels", "resolution", "label_size", "fmap_base", "fmap_decay", "fmap_min", "fmap_max",
                  "architecture", "nonlinearity", "resample_kernel", "dtype", "structure", "is_template_graph"}
SG2_TF_G_KWARGS = _SG2_TF_COMMON | {
    "latent_size", "dlatent_size", "mapping_layers", "mapping_fmaps", "mapping_lrmul", "mapping_nonlinearity",
    "normalize_latents", "fused_modconv", "randomize_noise", "truncation_psi", "truncation_cutoff",
    "truncation_psi_val", "truncation_cutoff_val", "dlatent_avg_beta", "style_mixing_prob", "mapping_func",
    "synthesis_func", "dlatent_broadcast", "force_clean_graph"}
SG2_TF_D_KWARGS = _SG2_TF_COMMON | {"mbstd_group_size", "mbstd_num_features"}


# Other build functions state version 4 pickles record, named for what they
# are: NVlabs/stylegan2's run_training.py builds configs A-D with progressive
# growing (B-D: G_synthesis_stylegan_revised and D_stylegan; A: StyleGAN's
# G_style and D_basic), and NVlabs/stylegan2-ada's TF networks are G_main with
# the components G_mapping and G_synthesis, and D_main.
_ADA_TF = ("a StyleGAN2-ADA TensorFlow network (NVlabs/stylegan2-ada); StyleGAN2-ADA-PyTorch's legacy.py turns "
           "it into a PyTorch pickle, which ganforge imports")
_SG2_TF_OTHERS = {
    "G_synthesis": _ADA_TF, "D_main": _ADA_TF,
    "G_synthesis_stylegan_revised": "NVlabs/stylegan2 configs B-D: progressive growing",
    "D_stylegan": "NVlabs/stylegan2 configs B-D: progressive growing",
    "G_style": "NVlabs/stylegan2 config A: the original StyleGAN's networks",
    "D_basic": "NVlabs/stylegan2 config A: the original StyleGAN's networks",
}


def _sg2_tf_known(func):
    return f" ({_SG2_TF_OTHERS[func]})" if isinstance(func, str) and func in _SG2_TF_OTHERS else ""


class _TFVariables:
    """One network's variables, taken by name with their rank checked; what is
    left untaken at the end is reported as unexpected."""

    def __init__(self, variables, where):
        self.variables, self.where, self.used = variables, where, set()

    def __call__(self, name, ndim, lead=0):
        if name not in self.variables:
            raise ConvertError(f"{self.where}: missing variable {name}")
        a = self.variables[name]
        tensor_dims(a, name, self.where, ndim, lead, kind="variable")
        self.used.add(name)
        return a

    def check_rest(self):
        extra = [n for n in self.variables if n not in self.used]
        if extra:
            more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
            raise ConvertError(f"{self.where}: unexpected variable {extra[0]}{more}")


def _t(a):
    return torch.from_numpy(np.array(a, dtype=np.float32, order="C"))  # np.array: a scalar keeps its shape []


def _dense(a):
    """TF dense weight [in, out] -> torch [out, in]."""
    return _t(a.T)


def _conv(a, flip=False):
    """TF conv weight [kh, kw, in, out] -> torch [out, in, kh, kw]. flip: the
    TF upsampling conv (upsample_conv_2d) flips its kernel before the
    transposed convolution; the official PyTorch layer runs the transposed
    convolution on the unflipped weight (flip_weight=False), so the stored
    kernel is the TF one turned by 180 degrees."""
    return _t((a[::-1, ::-1] if flip else a).transpose(3, 2, 0, 1))


def _tf_setting(kw, key, default, allowed, where, why):
    v = kw.get(key, default)
    if v not in allowed:
        raise ConvertError(f"{where}: {key} {v!r} is not supported ({why})")
    return v


def _tf_unconditional(kw, labelled, where):
    if kw.get("label_size", 0) or labelled:
        raise ConvertError(f"{where}: a conditional network (label_size {kw.get('label_size', 0)}): TensorFlow "
                           "StyleGAN2 concatenates a label embedding before normalizing z (LabelConcat) and scores by "
                           "a label dot product, which ganforge's StyleGAN2 (the StyleGAN2-ADA embed and projection) "
                           "does not compute; only unconditional networks are imported")


def stylegan2_tf_generator(net, where):
    """G_main state (components mapping and synthesis) -> (state with the
    official PyTorch names, hints). Semantics per variable (official
    networks_stylegan2.py): dense [in, out], conv [kh, kw, in, out], the style
    is dense(w) + mod_bias + 1 (the PyTorch affine bias is that bias + 1),
    noise{i} [1, 1, r, r] per layer index i, the learned constant [1, C, 4, 4]."""
    comps = net["components"]
    for comp in ("mapping", "synthesis"):
        c = comps.get(comp)
        if c is None:
            raise ConvertError(f"{where} has no {comp} component")
        if c["func"] != SG2_TF_FUNCS[comp]:
            raise ConvertError(f"{where}.{comp} is built by '{c['func'][:40]}'{_sg2_tf_known(c['func'])}; ganforge "
                               f"imports {SG2_TF_FUNCS[comp]} (NVlabs/stylegan2 configs E and F)")
    kw = dict(net["kwargs"])
    for comp in ("mapping", "synthesis"):
        for k, v in comps[comp]["kwargs"].items():
            kw.setdefault(k, v)
    _ignored_kwargs(kw, SG2_TF_G_KWARGS, where)
    kw = checked_settings(kw, where, "stylegan2")
    own = _TFVariables(net["variables"], where)
    m = _TFVariables(comps["mapping"]["variables"], f"{where}.mapping")
    s = _TFVariables(comps["synthesis"]["variables"], f"{where}.synthesis")
    _tf_unconditional(kw, "LabelConcat/weight" in m.variables, where)
    arch = kw.get("architecture", "skip")
    if any(n.endswith("/Skip/weight") for n in s.variables):
        arch = "resnet"
    elif "4x4/ToRGB/weight" not in s.variables and arch == "skip":
        arch = "orig"
    _tf_setting({"architecture": arch}, "architecture", "skip", ["skip"], where,
                "ganforge's StyleGAN2 generator is 'skip', as configs E and F")
    _tf_setting(kw, "normalize_latents", True, [True], where, "the mapping always normalizes z")
    for key in ("nonlinearity", "mapping_nonlinearity"):
        _tf_setting(kw, key, "lrelu", ["lrelu"], where, "leaky ReLU 0.2 only")
    _tf_setting(kw, "resample_kernel", [1, 3, 3, 1], [[1, 3, 3, 1]], where, "the [1, 3, 3, 1] filter only")
    _tf_setting(kw, "dtype", "float32", ["float32", "float16"], where, "float32 or float16 activations")

    out = collections.OrderedDict()
    layers = len([n for n in m.variables if re.fullmatch(r"Dense\d+/weight", n)])
    for i in range(layers):
        out[f"mapping.fc{i}.weight"] = _dense(m(f"Dense{i}/weight", 2))
        out[f"mapping.fc{i}.bias"] = _t(m(f"Dense{i}/bias", 1))
    hidden = {int(out[f"mapping.fc{i}.weight"].shape[0]) for i in range(layers - 1)}
    if layers and hidden - {int(out[f"mapping.fc{layers - 1}.weight"].shape[0])}:
        w_dim = out[f"mapping.fc{layers - 1}.weight"].shape[0]
        raise ConvertError(f"{where}: mapping_fmaps {sorted(hidden)[0]} differs from dlatent_size {w_dim}; "
                           "ganforge's mapping layers are all w_dim wide")
    # What static_kwargs say of the mapping must be what its variables are, as
    # for resolution below: mapping_layers 3 over two Dense layers was written
    # as 2 without a word (the official build would have made three).
    for key, got in (("mapping_layers", layers),
                     ("latent_size", int(out["mapping.fc0.weight"].shape[1]) if layers else None),
                     ("dlatent_size", int(out[f"mapping.fc{layers - 1}.weight"].shape[0]) if layers else None)):
        if kw.get(key) is not None and got is not None and kw[key] != got:
            raise ConvertError(f"{where}: static_kwargs {key} {kw[key]}, but the mapping's variables "
                               f"(Dense0..Dense{layers - 1}) give {got}")
    if not layers:
        raise ConvertError(f"{where}.mapping: missing variable Dense0/weight")
    out["mapping.w_avg"] = _t(own("dlatent_avg", 1))
    if "lod" in own.variables:
        own("lod", 0)  # G_main's progressive-growing level: unused by G_synthesis_stylegan2

    def layer(scope, dst, noise, flip=False):
        out[f"{dst}.weight"] = _conv(s(f"{scope}/weight", 4), flip)
        out[f"{dst}.bias"] = _t(s(f"{scope}/bias", 1))
        out[f"{dst}.affine.weight"] = _dense(s(f"{scope}/mod_weight", 2))
        out[f"{dst}.affine.bias"] = _t(s(f"{scope}/mod_bias", 1).astype(np.float64) + 1)
        out[f"{dst}.noise_strength"] = _t(s(f"{scope}/noise_strength", 0))
        out[f"{dst}.noise_const"] = _t(s(f"noise{noise}", 4, lead=2)[0, 0])
        out[f"{dst}.resample_filter"] = ref.setup_filter()

    def torgb(scope, dst):
        out[f"{dst}.weight"] = _conv(s(f"{scope}/weight", 4))
        out[f"{dst}.bias"] = _t(s(f"{scope}/bias", 1))
        out[f"{dst}.affine.weight"] = _dense(s(f"{scope}/mod_weight", 2))
        out[f"{dst}.affine.bias"] = _t(s(f"{scope}/mod_bias", 1).astype(np.float64) + 1)

    top = max([int(mt.group(1)) for n in s.variables for mt in [re.fullmatch(r"(\d+)x\1/Conv1/weight", n)] if mt],
              default=4)
    if kw.get("resolution", top) != top:
        raise ConvertError(f"{where}: static_kwargs resolution {kw['resolution']}, but the variables end at "
                           f"{top}x{top}")
    out["synthesis.b4.const"] = _t(s("4x4/Const/const", 4, lead=1)[0])
    layer("4x4/Conv", "synthesis.b4.conv1", 0)
    torgb("4x4/ToRGB", "synthesis.b4.torgb")
    out["synthesis.b4.resample_filter"] = ref.setup_filter()
    for k in range(3, int(math.log2(top)) + 1):
        r = 2 ** k
        layer(f"{r}x{r}/Conv0_up", f"synthesis.b{r}.conv0", 2 * k - 5, flip=True)
        layer(f"{r}x{r}/Conv1", f"synthesis.b{r}.conv1", 2 * k - 4)
        torgb(f"{r}x{r}/ToRGB", f"synthesis.b{r}.torgb")
        out[f"synthesis.b{r}.resample_filter"] = ref.setup_filter()
    for t in (own, m, s):
        t.check_rest()
    rgb = int(out[f"synthesis.b{top}.torgb.weight"].shape[0])
    if kw.get("num_channels", rgb) != rgb:
        raise ConvertError(f"{where}: static_kwargs num_channels {kw['num_channels']}, but {top}x{top}/ToRGB "
                           f"writes {rgb}")
    beta = kw.get("dlatent_avg_beta", 0.995)
    hints = {"mapping_lr_multiplier": kw.get("mapping_lrmul", 0.01), "w_avg_beta": 1.0 if beta is None else beta,
             "conv_clamp": None}
    return out, hints


def stylegan2_tf_discriminator(net, where):
    """D_stylegan2 state ('resnet' or 'orig') -> (state with the official
    PyTorch names, hints). Its downsampling convs (conv_downsample_2d: FIR
    filter, then a strided correlation) are the PyTorch ones: no flip. 'resnet'
    adds the 1x1 Skip conv and scales the sum by 1/sqrt(2), as the PyTorch
    gains sqrt(0.5) on both branches do; 'orig' (config E's Dorig) has no Skip
    and no scaling, as the PyTorch 'orig' block. The minibatch-stddev layer
    exists when mbstd_group_size > 1; 4x4/Conv then reads its extra maps."""
    kw = net["kwargs"]
    _ignored_kwargs(kw, SG2_TF_D_KWARGS, where)
    kw = checked_settings(kw, where, "stylegan2")
    v = _TFVariables(net["variables"], where)
    out_w = v.variables.get("Output/weight")
    _tf_unconditional(kw, out_w is not None and out_w.ndim == 2 and out_w.shape[1] > 1, where)
    res = sorted(int(mt.group(1)) for n in v.variables for mt in [re.fullmatch(r"(\d+)x\1/Conv0/weight", n)] if mt)
    if not res:
        raise ConvertError(f"{where}: missing variable 8x8/Conv0/weight (no D_stylegan2 blocks)")
    top = res[-1]
    # The variables tell the architecture: 'skip' has a FromRGB per block (and
    # at 4x4), 'resnet' a Skip per block, 'orig' neither.
    if any(re.fullmatch(r"(\d+)x\1/FromRGB/weight", n) and n != f"{top}x{top}/FromRGB/weight" for n in v.variables):
        arch = "skip"
    elif any(re.fullmatch(r"(\d+)x\1/Skip/weight", n) for n in v.variables):
        arch = "resnet"
    else:
        arch = "orig"
    _tf_setting({"architecture": arch}, "architecture", "resnet", list(D_ARCHITECTURES), where,
                "ganforge's StyleGAN2 discriminator is 'resnet' or 'orig'")
    if kw.get("architecture", arch) != arch:
        raise ConvertError(f"{where}: static_kwargs architecture {kw['architecture']!r}, but the variables are "
                           f"{'a' if arch == 'resnet' else 'an'} {arch!r} discriminator's "
                           f"({'with' if arch == 'resnet' else 'without'} <res>x<res>/Skip/weight)")
    _tf_setting(kw, "nonlinearity", "lrelu", ["lrelu"], where, "leaky ReLU 0.2 only")
    _tf_setting(kw, "resample_kernel", [1, 3, 3, 1], [[1, 3, 3, 1]], where, "the [1, 3, 3, 1] filter only")
    if kw.get("resolution", top) != top:
        raise ConvertError(f"{where}: static_kwargs resolution {kw['resolution']}, but the variables start at "
                           f"{top}x{top}")
    out = collections.OrderedDict()
    out[f"b{top}.fromrgb.weight"] = _conv(v(f"{top}x{top}/FromRGB/weight", 4))
    out[f"b{top}.fromrgb.bias"] = _t(v(f"{top}x{top}/FromRGB/bias", 1))
    out[f"b{top}.fromrgb.resample_filter"] = ref.setup_filter()
    for r in reversed(res):
        for layer, scope in (("conv0", "Conv0"), ("conv1", "Conv1_down")):
            out[f"b{r}.{layer}.weight"] = _conv(v(f"{r}x{r}/{scope}/weight", 4))
            out[f"b{r}.{layer}.bias"] = _t(v(f"{r}x{r}/{scope}/bias", 1))
            out[f"b{r}.{layer}.resample_filter"] = ref.setup_filter()
        if arch == "resnet":
            out[f"b{r}.skip.weight"] = _conv(v(f"{r}x{r}/Skip/weight", 4))
            out[f"b{r}.skip.resample_filter"] = ref.setup_filter()
        out[f"b{r}.resample_filter"] = ref.setup_filter()
    out["b4.conv.weight"] = _conv(v("4x4/Conv/weight", 4))
    out["b4.conv.bias"] = _t(v("4x4/Conv/bias", 1))
    out["b4.conv.resample_filter"] = ref.setup_filter()
    out["b4.fc.weight"] = _dense(v("4x4/Dense0/weight", 2))
    out["b4.fc.bias"] = _t(v("4x4/Dense0/bias", 1))
    out["b4.out.weight"] = _dense(v("Output/weight", 2))
    out["b4.out.bias"] = _t(v("Output/bias", 1))
    v.check_rest()
    rgb = int(out[f"b{top}.fromrgb.weight"].shape[1])
    if kw.get("num_channels", rgb) != rgb:
        raise ConvertError(f"{where}: static_kwargs num_channels {kw['num_channels']}, but {top}x{top}/FromRGB "
                           f"reads {rgb}")
    conv, fc = out["b4.conv.weight"], out["b4.fc.weight"]
    if fc.shape[0] != conv.shape[0]:
        raise ConvertError(f"{where}: 4x4/Dense0 has {fc.shape[0]} outputs but 4x4/Conv {conv.shape[0]} "
                           "(fmap_max above fmap_base / 2): ganforge's epilogue keeps one width, as StyleGAN2-ADA's")
    group = kw.get("mbstd_group_size", 4)
    extra = int(conv.shape[1]) - int(conv.shape[0])
    if (group > 1) != (extra > 0):
        raise ConvertError(f"{where}: 4x4/Conv reads {conv.shape[1]} feature maps for {conv.shape[0]} outputs, "
                           f"but mbstd_group_size is {group} ({'no ' if group <= 1 else ''}minibatch-stddev layer)")
    if group > 1 and extra != kw.get("mbstd_num_features", 1):
        raise ConvertError(f"{where}: 4x4/Conv reads {extra} extra feature maps, but mbstd_num_features is "
                           f"{kw.get('mbstd_num_features', 1)}")
    return out, {"mbstd_group_size": max(group, 0), "conv_clamp": None, "architecture": arch}


def read_stylegan2_tf_pickle(top, path):
    """(G, D, Gs) of dnnlib.tflib networks, state version 4 (NVlabs/stylegan2,
    configs E and F) -> ({"G", "D", "G_ema": state with the official PyTorch
    names}, {"G", "G_ema", "D": hints}), for convert()."""
    if len(top) != 3:
        raise ConvertError(f"{path}: holds {len(top)} TensorFlow networks; an official StyleGAN2 pickle is "
                           "(G, D, Gs)")
    nets, hints = {}, {}
    for i, (key, which) in enumerate((("G", "G"), ("D", "D"), ("G_ema", "Gs"))):
        want = SG2_TF_FUNCS["D" if key == "D" else "G"]
        func = top[i].state.get("build_func_name") if isinstance(top[i].state, dict) else None
        if func != want:  # before the components: a v1 or config A-D network is named for what it is
            raise ConvertError(f"{path}: {which} is built by '{str(func)[:40]}'{_sg2_tf_known(func)}; from "
                               f"dnnlib.tflib state version 4 "
                               f"pickles ganforge imports StyleGAN2's G_main and D_stylegan2 (configs E and F; "
                               f"expected {want})")
        state = tf_network_state(top[i], path, which, 4)
        where = f"{path}: {which}"
        if key == "D":
            nets[key], hints["D"] = stylegan2_tf_discriminator(state, where)
        else:
            nets[key], hints[key] = stylegan2_tf_generator(state, where)  # G's and Gs's each, as official_hints
    return nets, hints


# ---------------------------------------------------------------- torch files

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def _torch_file_globals(storage_globals_only):
    return _storage_globals() if storage_globals_only else {**_allowed_globals(), **_storage_globals()}


def _probe_globals(allowed):
    """The same globals, but tensors are not built: a first pass only collects
    the storages (their bytes follow the pickle, or sit beside it in a zip)."""
    probe = dict(allowed)
    for name in ("_rebuild_tensor_v2", "_rebuild_parameter", "_rebuild_parameter_with_state"):
        if ("torch._utils", name) in probe:
            probe[("torch._utils", name)] = lambda *a, **k: None
    return probe


def read_legacy_torch(data, path, storage_globals_only=False):
    """A legacy torch.save stream: pickles of the magic number, the protocol
    version, sys_info, the object (storages as persistent ids), the list of
    storage keys; then per key an 8-byte little-endian element count and the
    raw bytes. Parsed with the restricted unpickler and numpy, in two passes:
    storages first, then the object with its tensors."""
    def load():
        f = io.BytesIO(data)
        plain = lambda: RestrictedUnpickler(f, path, {}).load()  # noqa: E731
        if plain() != LEGACY_MAGIC:
            raise ConvertError(f"{path}: not a legacy torch.save file (bad magic number)")
        version = plain()
        if version != 1001:
            raise ConvertError(f"{path}: legacy torch.save protocol {version}, expected 1001")
        info = plain()
        if not isinstance(info, dict) or info.get("little_endian") is not True:
            raise ConvertError(f"{path}: legacy torch.save file is not little-endian")
        allowed = _torch_file_globals(storage_globals_only)
        start, storages = f.tell(), {}
        RestrictedUnpickler(f, path, _probe_globals(allowed), storages).load()
        keys = plain()
        if not isinstance(keys, list) or len(set(keys)) != len(keys) or set(keys) != set(storages):
            raise ConvertError(f"{path}: storage key list does not match the storages used")
        for key in keys:
            head = f.read(8)
            if len(head) != 8:
                raise ConvertError(f"{path}: truncated (storage {key})")
            count = struct.unpack("<Q", head)[0]
            if count != storages[key].numel:
                raise ConvertError(f"{path}: storage {key} has {count} elements, expected {storages[key].numel}")
            n = count * storages[key].type.np_dtype.itemsize
            raw = f.read(n)
            if len(raw) != n:
                raise ConvertError(f"{path}: truncated (storage {key})")
            storages[key].set_bytes(raw, path)
        if f.read(1):
            raise ConvertError(f"{path}: trailing bytes after the last storage")
        f.seek(start)
        return RestrictedUnpickler(f, path, allowed, storages).load()
    return _guarded(path, load)


def read_zip_torch(data, path, storage_globals_only=False, script=False):
    """A zip torch.save file: <archive>/data.pkl (storages as persistent ids)
    and <archive>/data/<key> raw bytes; read with zipfile, the restricted
    unpickler and numpy, in two passes like the legacy format. script: a
    TorchScript archive (torch.jit.save), whose data.pkl rebuilds __torch__.*
    classes: they become inert ScriptObjects; -> (top object,
    {name in the zip: ZipInfo}, the zip)."""
    def load():
        try:
            z = zipfile.ZipFile(io.BytesIO(data))
            infos = {i.filename: i for i in z.infolist()}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
            raise ConvertError(f"{path}: not a readable zip archive ({e})")
        pkls = [n for n in infos if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkls) != 1:
            raise ConvertError(f"{path}: zip archive without exactly one <name>/data.pkl")
        root = pkls[0][:-len("data.pkl")]
        order = infos.get(root + "byteorder")
        if order is not None and (order.file_size > 16 or z.read(order) != b"little"):  # "little" or "big"
            raise ConvertError(f"{path}: torch.save file is not little-endian")
        if infos[pkls[0]].file_size > 1 << 30:
            raise ConvertError(f"{path}: data.pkl of {infos[pkls[0]].file_size} bytes, refusing")
        _check_inflation(path, [infos[pkls[0]]])
        pkl = z.read(pkls[0])
        allowed = _torch_file_globals(storage_globals_only)
        if script:  # tensors and TorchScript's containers only: none of the official pickles' classes
            allowed = {**_storage_globals(), **_SCRIPT_GLOBALS,
                       **{k: v for k, v in allowed.items() if k in _SCRIPT_TENSOR_GLOBALS}}
        classes = ScriptClasses() if script else None
        storages = {}
        f = io.BytesIO(pkl)
        RestrictedUnpickler(f, path, _probe_globals(allowed), storages, classes).load()
        if f.read(1):
            raise ConvertError(f"{path}: trailing bytes after data.pkl")
        entries = {}
        for key, ref_ in storages.items():  # every entry checked before any is read
            info = infos.get(f"{root}data/{key}")
            if info is None:
                raise ConvertError(f"{path}: storage {key} missing from the archive")
            if info.file_size != ref_.numel * ref_.type.np_dtype.itemsize:
                raise ConvertError(f"{path}: storage {key} has {info.file_size} bytes, expected "
                                   f"{ref_.numel} x {ref_.type.np_dtype.itemsize}")
            entries[key] = info
        _check_inflation(path, list(entries.values()))
        for key, info in entries.items():
            storages[key].set_bytes(z.read(info), path)
        top = RestrictedUnpickler(io.BytesIO(pkl), path, allowed, storages, classes).load()
        return (top, infos, z) if script else top
    return _guarded(path, load)


# torch.save and torch.jit.save write data.pkl and the storages uncompressed
# (ZIP_STORED): what they hold costs what the file does. A compressed entry
# (a re-zipped file) is read only while all of them together inflate to at
# most this many times their compressed bytes, plus a slack for small constant
# storages: trained float weights barely deflate (under 1.2x), zero-filled
# buffers up to ~1000x, and a 6.5 MB file inflating to 1.5 GB cost 3.2 GB of
# memory and half a minute before its names were even looked at.
MAX_INFLATION = 16
INFLATION_SLACK = 1 << 20


def _check_inflation(path, infos):
    packed = [i for i in infos if i.compress_type != zipfile.ZIP_STORED]
    inflated = sum(i.file_size for i in packed)
    if inflated > MAX_INFLATION * sum(i.compress_size for i in packed) + INFLATION_SLACK:
        worst = max(packed, key=lambda i: i.file_size / max(i.compress_size, 1))
        raise ConvertError(f"{path}: {worst.filename} is compressed {worst.file_size / max(worst.compress_size, 1):.0f} "
                           f"to 1 ({worst.compress_size} bytes inflating to {worst.file_size}); torch.save stores "
                           f"tensors uncompressed, and compressed entries may inflate to at most {MAX_INFLATION}x "
                           "their size: refusing")


def read_torch_file(path, data):
    if is_zip(data):
        return read_zip_torch(data, path)
    return read_legacy_torch(data, path)


def is_zip(data):
    return data[:4] == b"PK\x03\x04"


def _script_list(items):
    if not isinstance(items, list):
        raise pickle.UnpicklingError(f"a TorchScript list of {type(items).__name__}")
    return list(items)


def _restore_type_tag(obj, type_str):
    return obj  # the tag only names the element type


# torch.jit._pickle's helpers in a TorchScript data.pkl: typed lists and
# aggregates' type tags. Stand-ins that build the plain values.
_SCRIPT_GLOBALS = {("torch.jit._pickle", n): _script_list
                   for n in ("build_intlist", "build_doublelist", "build_boollist", "build_tensorlist")}
_SCRIPT_GLOBALS[("torch.jit._pickle", "restore_type_tag")] = _restore_type_tag
# What else a TorchScript data.pkl may name: tensors, parameters, ordered dicts.
_SCRIPT_TENSOR_GLOBALS = {("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_parameter"),
                          ("torch._utils", "_rebuild_parameter_with_state"), ("collections", "OrderedDict")}


class ScriptObject:
    """An instance of a TorchScript class (__torch__.*) as data.pkl rebuilds it
    (NEWOBJ, then BUILD with the attribute dict): an inert attribute container.
    No code of the archive is run; the subclass only records the class name."""
    qualified_name = None

    def __new__(cls, *args, **kwargs):
        if args or kwargs:
            raise pickle.UnpicklingError(f"{cls.qualified_name} is constructed with arguments")
        return super().__new__(cls)

    def __init__(self):
        self.attrs = None

    def __setstate__(self, state):
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise pickle.UnpicklingError(f"{self.qualified_name} is built from a {type(state).__name__}, "
                                         "not an attribute dict")
        self.attrs = state


class ScriptClasses:
    """One ScriptObject subclass per __torch__ class name a data.pkl asks for
    (NEWOBJ needs a type)."""

    def __init__(self):
        self.types = {}

    def get(self, module, name):
        key = f"{module}.{name}"
        if key not in self.types:
            self.types[key] = type("ScriptObject", (ScriptObject,), {"qualified_name": key})
        return self.types[key]


def is_torchscript(data):
    """A torch.jit.save archive: a zip whose <name>/ folder holds code/ (the
    module's TorchScript source) or constants.pkl beside data.pkl."""
    if not is_zip(data):
        return False
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except Exception:
        return False
    roots = {n[:-len("data.pkl")] for n in names if n.endswith("/data.pkl") and n.count("/") == 1}
    return any(n.startswith(tuple(r + "code/" for r in roots)) or n in {r + "constants.pkl" for r in roots}
               for n in names)


def _script_declarations(z, infos, root, qualified_name, path):
    """The class's declaration in the archive's code/ (the TorchScript printer's
    text, read, never run): (is a Module, parameter names, buffer names), or
    None when the archive holds no such class. Module __torch__.a.b lives in
    code/__torch__/a/b.py."""
    module, _, name = qualified_name.rpartition(".")
    info = infos.get(f"{root}code/{module.replace('.', '/')}.py")
    if info is None:
        return None
    if info.file_size > 1 << 22:  # TorchScript's printout of a network class is kilobytes
        raise ConvertError(f"{path}: {info.filename} of {info.file_size} bytes, refusing")
    text = z.read(info).decode("utf-8", "replace")
    m = re.search(rf"^class {re.escape(name)}(\((\w*)\))?:\n((?:[ \t]+.*\n?|\n)*)", text, re.M)
    if m is None:
        return None
    body = m.group(3)

    def names(key):
        d = re.search(rf"^[ \t]+{key} = (\[[^\]\n]*\])", body, re.M)  # one line: never across lines
        if d is None:
            return []
        try:
            v = ast.literal_eval(d.group(1))  # a list of string literals, never evaluated as code
        except (ValueError, SyntaxError):
            v = None
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ConvertError(f"{path}: {root}code/{module.replace('.', '/')}.py: {key} of {name} is not "
                               "a list of names")
        return v
    return m.group(2) == "Module", names("__parameters__"), names("__buffers__")


def script_state_dict(top, path, infos, z, root):
    """The parameters and buffers of a TorchScript module tree under the names
    module.state_dict() gives (prefix.name, parameters and buffers as each
    class's code declares them, then the submodules in attribute order);
    None parameters, non-tensor attributes (training, ints, lists) and tensors
    that are plain attributes are left out. A class missing from code/ counts
    as a module whose tensor attributes are all state. A module met twice is refused."""
    decls = {}

    def decl(obj):
        q = obj.qualified_name
        if q not in decls:
            d = _script_declarations(z, infos, root, q, path)
            decls[q] = None if d is None else (d[0], set(d[1]) | set(d[2]))
        return decls[q]

    out, seen = collections.OrderedDict(), set()

    def walk(obj, prefix):
        if id(obj) in seen:
            raise ConvertError(f"{path}: module {prefix.rstrip('.') or '(top)'} appears twice in the archive")
        seen.add(id(obj))
        if obj.attrs is None:
            raise ConvertError(f"{path}: {obj.qualified_name} has no attributes (no BUILD in data.pkl)")
        d = decl(obj)
        state = None if d is None else d[1]
        children = []
        for name, v in obj.attrs.items():
            if isinstance(v, torch.Tensor):
                if state is None or name in state:
                    out[prefix + name] = v
            elif isinstance(v, ScriptObject):
                cd = decl(v)
                if cd is None or cd[0]:
                    children.append((name, v))
        if state is not None:
            for name in sorted(state):
                v = obj.attrs.get(name)
                if name not in obj.attrs or not (v is None or isinstance(v, torch.Tensor)):
                    what = "absent" if name not in obj.attrs else "not a tensor"
                    raise ConvertError(f"{path}: {prefix}{name} is declared a parameter or buffer of "
                                       f"{obj.qualified_name} but is {what}")
        for name, v in children:
            walk(v, prefix + name + ".")

    if not isinstance(top, ScriptObject):
        raise ConvertError(f"{path}: the TorchScript archive holds a {type(top).__name__}, not a module")
    walk(top, "")
    return out


def read_torchscript(path, data):
    """A torch.jit.save archive -> (the top class's name, its state dict).
    Read like a torch.save zip, with __torch__.* classes as inert containers:
    neither the code in code/ nor constants.pkl is run or unpickled."""
    top, infos, z = read_zip_torch(data, path, script=True)
    root = next(n for n in infos if n.endswith("/data.pkl") and n.count("/") == 1)[:-len("data.pkl")]
    name = top.qualified_name if isinstance(top, ScriptObject) else type(top).__name__
    return name, script_state_dict(top, path, infos, z, root)


def is_legacy_torch(data):
    # A legacy torch.save file starts with a pickled magic number (read with the
    # restricted unpickler: this file is not trusted yet), in whatever pickle
    # protocol it was saved with: torch.load reads protocol 0 and 1 files too.
    try:
        return RestrictedUnpickler(io.BytesIO(data[:64]), "", {}).load() == LEGACY_MAGIC
    except Exception:
        return False


# ---------------------------------------------------------------- config inference

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


# ---------------------------------------------------------------- rosinality

class _Taker:
    """Reads a rosinality state by name and tracks what was read, so what is left
    over (beyond the blur kernels) is reported as unexpected."""

    def __init__(self, state, net):
        self.state, self.net, self.used = state, net, set()

    def __call__(self, name, ndim=None, lead=0):
        """ndim: the rank to check, lead: leading 1s (batch axes) dropped from the result."""
        if name not in self.state:
            raise ConvertError(f"{self.net}: missing tensor {name}")
        self.used.add(name)
        t = self.state[name]
        if ndim is not None:
            tensor_dims(t, name, self.net, ndim, lead)
        return t[(0,) * lead] if lead else t

    def check_rest(self, kernel_pattern, scale):
        # Its blur kernels are the fixed [1, 3, 3, 1] filter (times 4 where it upsamples).
        for n, t in self.state.items():
            if n in self.used:
                continue
            if not re.search(kernel_pattern, n):
                raise ConvertError(f"{self.net}: unexpected tensor {n}")
            f = ref.setup_filter() * scale
            if t.shape != f.shape or not torch.allclose(t.float(), f):
                raise ConvertError(f"{self.net}: tensor {n} is not the [1, 3, 3, 1] filter ganforge uses")


def _rosinality_size(g):
    return 2 ** (len([n for n in g if re.match(r"to_rgbs\.\d+\.bias$", n)]) + 2)


def rosinality_generator(g, net, latent_avg):
    """rosinality Generator state -> official names. Same semantics layer by layer
    (its upsampling conv is the same unflipped transposed conv plus blur, its
    noise/bias/activation order is the official one); only layouts differ."""
    get = _Taker(g, net)
    size = _rosinality_size(g)
    out = collections.OrderedDict()
    n_mlp = len([n for n in g if re.match(r"style\.\d+\.weight$", n)])
    for i in range(n_mlp):
        out[f"mapping.fc{i}.weight"] = get(f"style.{i + 1}.weight")
        out[f"mapping.fc{i}.bias"] = get(f"style.{i + 1}.bias")
    out["synthesis.b4.const"] = get("input.input", 4, lead=1)

    def styled(src, dst, noise_idx):
        out[f"{dst}.affine.weight"] = get(f"{src}.conv.modulation.weight")
        out[f"{dst}.affine.bias"] = get(f"{src}.conv.modulation.bias")
        out[f"{dst}.weight"] = get(f"{src}.conv.weight", 5, lead=1)
        out[f"{dst}.noise_strength"] = get(f"{src}.noise.weight", 1, lead=1)
        out[f"{dst}.bias"] = get(f"{src}.activate.bias")
        out[f"{dst}.noise_const"] = get(f"noises.noise_{noise_idx}", 4, lead=2)
        out[f"{dst}.resample_filter"] = ref.setup_filter()

    def torgb(src, dst):
        out[f"{dst}.affine.weight"] = get(f"{src}.conv.modulation.weight")
        out[f"{dst}.affine.bias"] = get(f"{src}.conv.modulation.bias")
        out[f"{dst}.weight"] = get(f"{src}.conv.weight", 5, lead=1)
        out[f"{dst}.bias"] = get(f"{src}.bias", 4, lead=1).reshape(-1)

    styled("conv1", "synthesis.b4.conv1", 0)
    torgb("to_rgb1", "synthesis.b4.torgb")
    for k, res in enumerate(2 ** i for i in range(3, int(math.log2(size)) + 1)):
        styled(f"convs.{2 * k}", f"synthesis.b{res}.conv0", 2 * k + 1)
        styled(f"convs.{2 * k + 1}", f"synthesis.b{res}.conv1", 2 * k + 2)
        torgb(f"to_rgbs.{k}", f"synthesis.b{res}.torgb")
    for res in (2 ** i for i in range(2, int(math.log2(size)) + 1)):
        out[f"synthesis.b{res}.resample_filter"] = ref.setup_filter()
    get.check_rest(r"(convs\.\d+\.conv\.blur|to_rgbs\.\d+\.upsample)\.kernel$", scale=4)
    if latent_avg is not None:
        out["mapping.w_avg"] = latent_avg.reshape(-1)
    return out


def rosinality_w_avg(G, samples):
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        z = torch.randn([samples, G.mapping.z_dim], generator=gen)
        return G.mapping(z.double(), None)[:, 0].mean(0).float()


def rosinality_discriminator(d, net):
    get = _Taker(d, net)
    size = 2 ** (len([n for n in d if re.match(r"convs\.\d+\.conv1\.0\.weight$", n)]) + 2)
    out = collections.OrderedDict()
    out[f"b{size}.fromrgb.weight"] = get("convs.0.0.weight")
    out[f"b{size}.fromrgb.bias"] = get("convs.0.1.bias")
    for j, res in enumerate((2 ** i for i in range(int(math.log2(size)), 2, -1)), start=1):
        b = f"b{res}"
        out[f"{b}.conv0.weight"] = get(f"convs.{j}.conv1.0.weight")
        out[f"{b}.conv0.bias"] = get(f"convs.{j}.conv1.1.bias")
        out[f"{b}.conv1.weight"] = get(f"convs.{j}.conv2.1.weight")
        out[f"{b}.conv1.bias"] = get(f"convs.{j}.conv2.2.bias")
        out[f"{b}.skip.weight"] = get(f"convs.{j}.skip.1.weight")
        for layer in ("fromrgb", "conv0", "conv1", "skip", ""):
            if layer == "fromrgb" and res != size:
                continue
            out[f"{b}.{layer}.resample_filter" if layer else f"{b}.resample_filter"] = ref.setup_filter()
    out["b4.conv.weight"] = get("final_conv.0.weight")
    out["b4.conv.bias"] = get("final_conv.1.bias")
    out["b4.conv.resample_filter"] = ref.setup_filter()
    for src, dst in (("final_linear.0", "b4.fc"), ("final_linear.1", "b4.out")):
        out[f"{dst}.weight"] = get(f"{src}.weight")
        out[f"{dst}.bias"] = get(f"{src}.bias")
    get.check_rest(r"convs\.\d+\.(conv2|skip)\.0\.kernel$", scale=1)
    return out


# ---------------------------------------------------------------- pSp

# pSp builds GradualStyleEncoder(50, 'ir_se') on 256x256 inputs: IR-SE50.
PSP_ARCH = {"units": [3, 4, 14, 3], "depths": [64, 128, 256, 512], "se_reduction": 16, "input_size": 256,
            "mode": "ir_se"}


def is_psp_checkpoint(obj):
    """pSp's coach saves {"state_dict": net.state_dict(), "opts": vars(opts)}
    (plus "latent_avg" when it starts from it)."""
    return isinstance(obj, dict) and "state_dict" in obj and "opts" in obj


def _check_psp_arch(arch):
    """--psp-arch's values, each in one line (a 0 divided by zero, a string
    reached arithmetic as a TypeError, true passed as 1 into psp_kwargs)."""
    def whole(v, lo):
        return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= 1 << 20
    for key in ("units", "depths"):
        v = arch[key]
        if not isinstance(v, list) or len(v) != 4 or not all(whole(x, 1) for x in v):
            raise ConvertError(f"--psp-arch: {key} must be a list of 4 whole numbers >= 1 (the body's four stages), "
                               f"got {json.dumps(v)}")
    if not whole(arch["se_reduction"], 1):
        raise ConvertError(f"--psp-arch: se_reduction must be a whole number >= 1, got {json.dumps(arch['se_reduction'])}")
    size = arch["input_size"]
    if not whole(size, 16) or size & (size - 1):
        raise ConvertError(f"--psp-arch: input_size must be a power of two >= 16 (the body halves it four times), "
                           f"got {json.dumps(size)}")
    if arch["mode"] not in ("ir", "ir_se"):
        raise ConvertError(f"--psp-arch: mode must be \"ir\" or \"ir_se\", got {json.dumps(arch['mode'])}")


def psp_config(opts, path, arch_json):
    if isinstance(opts, Namespace):
        opts = vars(opts)
    if not isinstance(opts, dict):
        raise ConvertError(f"{path}: opts is a {type(opts).__name__}, not a dict of training options")
    arch = dict(PSP_ARCH)
    if arch_json:
        try:
            extra = json.loads(arch_json)
        except ValueError as e:
            raise ConvertError(f"--psp-arch is not JSON ({e})")
        if not isinstance(extra, dict):
            raise ConvertError(f"--psp-arch must be a JSON object, got {arch_json}")
        unknown = [k for k in extra if k not in PSP_ARCH]
        if unknown:
            raise ConvertError(f"--psp-arch: unknown key {unknown[0]}")
        arch.update(extra)
        _check_psp_arch(arch)
    encoder_type = opts.get("encoder_type", "GradualStyleEncoder")
    if encoder_type not in psp_ref.ENCODER_TYPES:
        raise ConvertError(f"{path}: encoder_type '{encoder_type}' is not one of pSp's encoders")
    def opt_int(key, default):
        # pSp's argparse makes these ints; a string or a bool (True read as
        # output_size 1) is a damaged or hand-made opts, which pSp's own
        # code would fail on.
        v = opts.get(key, default)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConvertError(f"{path}: opts {key} is {v!r}, not a whole number (pSp's argparse makes it an int)")
        return v

    if opt_int("label_nc", 0) != 0:
        raise ConvertError(f"{path}: label_nc {opts['label_nc']}: label-map inputs (segmentation, sketches) are "
                           "not supported; ganforge's pSp reads images")
    # As scripts/inference.py: a checkpoint without these keys predates them.
    output_size = opt_int("output_size", 1024)
    if output_size < 8 or output_size & (output_size - 1):
        raise ConvertError(f"{path}: output_size {output_size} is not a power of two")
    cfg = {"encoder_type": encoder_type, "mode": arch["mode"], "input_nc": opt_int("input_nc", 3),
           "input_size": int(arch["input_size"]), "n_styles": int(math.log2(output_size)) * 2 - 2,
           "units": list(arch["units"]), "depths": list(arch["depths"]), "se_reduction": int(arch["se_reduction"]),
           "start_from_latent_avg": bool(opts.get("start_from_latent_avg", False)),
           "learn_in_w": bool(opts.get("learn_in_w", False))}
    one_w = encoder_type == "BackboneEncoderUsingLastLayerIntoW"
    if cfg["learn_in_w"] != one_w:
        # pSp's forward reads learn_in_w only to add latent_avg (psp.py): without
        # start_from_latent_avg the flag does nothing, and the decoder repeats a
        # single w over its layers; with it the two shapes do not add up.
        if cfg["start_from_latent_avg"]:
            raise ConvertError(f"{path}: learn_in_w {cfg['learn_in_w']} with {encoder_type} and start_from_latent_avg: "
                               "pSp's forward only adds latent_avg with learn_in_w and "
                               "BackboneEncoderUsingLastLayerIntoW together")
        cfg["learn_in_w"] = one_w  # ganforge's learn_in_w: the encoder gives one w
    return cfg


def convert_psp(obj, path, args):
    """A pSp checkpoint -> (tensors, metadata) of a ganforge pSp file
    (models/psp/network_file.h): encoder.* with pSp's names, the rosinality
    decoder as G_ema.* with the official names, latent_avg; psp_kwargs and
    G_kwargs."""
    cfg = psp_config(obj["opts"], path, args.psp_arch)
    state = _as_state(obj["state_dict"], path, "state_dict")
    enc = collections.OrderedDict((k[8:], v) for k, v in state.items() if k.startswith("encoder."))
    dec = collections.OrderedDict((k[8:], v) for k, v in state.items() if k.startswith("decoder."))
    other = [k for k in state if not k.startswith(("encoder.", "decoder."))]
    if other:
        raise ConvertError(f"{path}: unexpected tensor {other[0]} (pSp holds encoder.* and decoder.*)")
    if not enc or not dec:
        raise ConvertError(f"{path}: no {'encoder' if not enc else 'decoder'} tensors in the state_dict")
    # torch's batch-count buffers: unused with momentum 0.1, and not float.
    enc = collections.OrderedDict((k, v) for k, v in enc.items() if not k.endswith(".num_batches_tracked"))
    want = psp_ref.make_encoder(cfg).state_dict()
    check_state(enc, types.SimpleNamespace(state_dict=lambda: collections.OrderedDict(
        (k, v) for k, v in want.items() if not k.endswith(".num_batches_tracked"))), f"{path}: encoder")
    w = cfg["depths"][3]
    latent = obj.get("latent_avg")
    if latent is not None:
        if not isinstance(latent, torch.Tensor) or not latent.is_floating_point():
            raise ConvertError(f"{path}: latent_avg is not a float tensor")
        shapes = [(w,), (1, w)] + ([] if cfg["learn_in_w"] else [(cfg["n_styles"], w)])
        if tuple(latent.shape) not in shapes:
            raise ConvertError(f"{path}: latent_avg has shape {list(latent.shape)}, expected one of "
                               f"{[list(s) for s in shapes]}")
    elif cfg["start_from_latent_avg"]:
        raise ConvertError(f"{path}: opts.start_from_latent_avg is set but the checkpoint has no latent_avg")
    # The decoder's w_avg (used only for truncation, which pSp never applies):
    # pSp's latent_avg is the generator's mean latent, repeated per style.
    w_avg = latent.reshape(-1, w).mean(0) if latent is not None else None
    g_state = rosinality_generator(dec, f"{path}: decoder", w_avg)
    tensors, meta = convert({"G_ema": g_state}, {"G": {"w_avg_from_mapping": w_avg is None}}, path, args)
    g_kwargs = json.loads(meta["G_kwargs"])
    num_ws = ref.Generator(**g_kwargs).synthesis.num_ws
    if num_ws != cfg["n_styles"]:
        raise ConvertError(f"{path}: the {g_kwargs['img_resolution']} px decoder takes {num_ws} styles, but "
                           f"opts.output_size gives {cfg['n_styles']}")
    if g_kwargs["w_dim"] != w:
        raise ConvertError(f"{path}: the decoder's w_dim {g_kwargs['w_dim']} differs from the encoder's {w}")
    for n, t in enc.items():
        tensors[f"encoder.{n}"] = t.detach().to(torch.float32).contiguous()
    if latent is not None:
        tensors["latent_avg"] = latent.detach().to(torch.float32).contiguous()
    meta["psp_kwargs"] = json.dumps(cfg)
    return tensors, meta


# ---------------------------------------------------------------- loss networks (LPIPS, ArcFace)

_LPIPS_LIN = re.compile(r"lin(\d+)\.model\.1\.weight$")


def is_lpips_lin(obj):
    return isinstance(obj, dict) and bool(obj) and all(isinstance(k, str) and _LPIPS_LIN.match(k) for k in obj)


def is_arcface(obj):
    return isinstance(obj, dict) and "output_layer.3.weight" in obj and "input_layer.0.weight" in obj


def convert_lpips(lin_obj, path, alexnet_path):
    """LPIPS v0.1 lin layers + torchvision AlexNet -> (tensors, metadata) with
    pSp's LPIPS names; the channel counts from the conv shapes."""
    if not alexnet_path:
        w0, w1 = lin_obj.get("lin0.model.1.weight"), lin_obj.get("lin1.model.1.weight")
        if (isinstance(w0, torch.Tensor) and isinstance(w1, torch.Tensor) and w0.dim() == w1.dim() == 4
                and w1.shape[1] == 2 * w0.shape[1]):  # VGG's 64, 128; AlexNet's 64, 192
            raise ConvertError(f"{path}: LPIPS's VGG lin layers (vgg.pth); they go with torchvision's VGG16: "
                               f"import vgg16-397923af.pth with --format vgg16 --lpips {path}")
        raise ConvertError(f"{path}: LPIPS lin layers; give torchvision's AlexNet state dict with --alexnet "
                           "(alexnet-owt-7be5be79.pth)")
    lin = _as_state(lin_obj, path, "the LPIPS file")
    _, alex_obj = load_source(alexnet_path, "state-dict-raw")
    alex = _as_state(alex_obj, alexnet_path, "the AlexNet file")
    convs = [0, 3, 6, 8, 10]
    for i in convs:
        if f"features.{i}.weight" not in alex:
            raise ConvertError(f"{alexnet_path}: not torchvision's AlexNet (no features.{i}.weight)")
    unknown = [k for k in alex if not k.startswith(("features.", "classifier."))]
    if unknown:
        raise ConvertError(f"{alexnet_path}: unexpected tensor {unknown[0]} in an AlexNet state dict")
    channels = [tensor_dims(alex[f"features.{i}.weight"], f"features.{i}.weight", alexnet_path, 4)[0] for i in convs]
    state = collections.OrderedDict()
    for k, v in alex.items():
        if k.startswith("features."):
            state["net.layers." + k[len("features."):]] = v
    for k, v in lin.items():
        state[f"lin.{_LPIPS_LIN.match(k).group(1)}.1.weight"] = v
    model = perc_ref.LPIPS(channels)
    want = collections.OrderedDict((k, v) for k, v in model.state_dict().items() if k not in ("net.mean", "net.std"))
    check_state(state, types.SimpleNamespace(state_dict=lambda: want), f"{path} + {alexnet_path}")
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in state.items()}
    return tensors, {"perceptual": "lpips", "lpips_kwargs": json.dumps({"net": "alex", "version": "0.1",
                                                                        "channels": channels})}


def arcface_config(state, path):
    """Backbone settings from model_ir_se50.pth's names and shapes: a stage
    starts where the unit depth changes (IR-SE50's 64, 128, 256, 512)."""
    units, depths = [], []
    i = 0
    while f"body.{i}.res_layer.1.weight" in state:
        d = tensor_dims(state[f"body.{i}.res_layer.1.weight"], f"body.{i}.res_layer.1.weight", path, 4)[0]
        if depths and depths[-1] == d:
            units[-1] += 1
        else:
            units.append(1)
            depths.append(d)
        i += 1
    if len(units) != 4:
        raise ConvertError(f"{path}: an ArcFace body of {len(units)} stages of distinct depths {depths}; the "
                           "Backbone has 4")
    se = "body.0.res_layer.5.fc1.weight" in state
    red = depths[0] // max(tensor_dims(state["body.0.res_layer.5.fc1.weight"], "body.0.res_layer.5.fc1.weight",
                                       path, 4)[0], 1) if se else 16
    if "output_layer.3.weight" not in state:
        raise ConvertError(f"{path}: missing tensor output_layer.3.weight")
    emb = tensor_dims(state["output_layer.3.weight"], "output_layer.3.weight", path, 2)[0]
    return {"mode": "ir_se" if se else "ir", "units": units, "depths": depths, "se_reduction": red, "embedding": emb,
            "affine": "output_layer.4.weight" in state, "input_size": 112}


def convert_arcface(obj, path):
    state = _as_state(obj, path, "the ArcFace file")
    state = collections.OrderedDict((k, v) for k, v in state.items() if not k.endswith(".num_batches_tracked"))
    cfg = arcface_config(state, path)
    model = perc_ref.Backbone(**{k: v for k, v in cfg.items() if k != "input_size"})
    want = collections.OrderedDict((k, v) for k, v in model.state_dict().items()
                                   if not k.endswith(".num_batches_tracked"))
    check_state(state, types.SimpleNamespace(state_dict=lambda: want), path)
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in state.items()}
    return tensors, {"perceptual": "arcface", "arcface_kwargs": json.dumps(cfg)}


# ---------------------------------------------------------------- MoCo's ResNet-50 (pSp's MoCo loss)

MOCO_PREFIX = "module.encoder_q."


def is_moco(obj):
    """MoCo's checkpoint (moco_v2_800ep_pretrain.pth.tar): {"epoch", "arch",
    "state_dict": module.encoder_q.* and module.encoder_k.*, the queue, ...,
    "optimizer"}."""
    return isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict) and \
        f"{MOCO_PREFIX}conv1.weight" in obj["state_dict"]


def convert_moco(obj, path):
    """What MocoLoss.__load_model keeps: the query encoder's tensors without
    its fc head, under torchvision's names; the ResNet's block counts and width
    read off them and every tensor checked against the reference's."""
    if not is_moco(obj):
        raise ConvertError(f"{path}: not a MoCo checkpoint (no state_dict with {MOCO_PREFIX}conv1.weight)")
    if obj.get("arch", "resnet50") != "resnet50":
        raise ConvertError(f"{path}: a MoCo checkpoint of {one_line(str(obj['arch']))[:40]}; pSp's MoCo loss builds "
                           "a resnet50")
    fc = MOCO_PREFIX + "fc"
    picked = {k[len(MOCO_PREFIX):]: v for k, v in obj["state_dict"].items()
              if isinstance(k, str) and k.startswith(MOCO_PREFIX) and not k.startswith(fc)}
    state = _as_state(picked, path, "the MoCo query encoder")
    state = collections.OrderedDict((k, v) for k, v in state.items() if not k.endswith(".num_batches_tracked"))
    layers = []
    for s in range(1, 5):
        n = 0
        while f"layer{s}.{n}.conv1.weight" in state:
            n += 1
        layers.append(n)
    if 0 in layers:
        raise ConvertError(f"{path}: the MoCo encoder has no layer{layers.index(0) + 1}.0 (a ResNet has four stages)")
    if "conv1.weight" not in state:
        raise ConvertError(f"{path}: missing tensor conv1.weight")
    cfg = {"layers": layers, "width": tensor_dims(state["conv1.weight"], "conv1.weight", path, 4)[0]}
    model = perc_ref.ResNet(**cfg)
    want = collections.OrderedDict((k, v) for k, v in model.state_dict().items()
                                   if not k.endswith(".num_batches_tracked"))
    check_state(state, types.SimpleNamespace(state_dict=lambda: want), path)
    if cfg != {"layers": list(perc_ref.RESNET50["layers"]), "width": perc_ref.RESNET50["width"]}:
        print(f"convert_weights: note: {path}: a ResNet of blocks {layers}, width {cfg['width']}, not ResNet-50 "
              "(pSp builds resnet50; this file serves tests)", file=sys.stderr)
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in state.items()}
    return tensors, {"perceptual": "moco", "moco_kwargs": json.dumps(cfg)}


# ---------------------------------------------------------------- the FID/IS Inception detector

# The official metrics' inception-2015-12-05.pt (a TorchScript archive; NVIDIA's
# translation of TensorFlow's Inception graph): every conv layer is a conv
# without bias and a batch norm without scale, stored as X.weight [O, I, kh, kw],
# X.beta, X.mean, X.var [O]. Names and shapes are from third-party readings of
# the archive's state dict (nobody here has the file), so every one is checked.
# Blocks by kind: (conv name, output channels (int or a key of the block's
# arguments), kh, kw, input: "in" or the conv it follows).
_INCEPTION_BLOCKS = {
    "A": [("conv", 64, 1, 1, "in"),
          ("tower.conv", 48, 1, 1, "in"), ("tower.conv_1", 64, 5, 5, "tower.conv"),
          ("tower_1.conv", 64, 1, 1, "in"), ("tower_1.conv_1", 96, 3, 3, "tower_1.conv"),
          ("tower_1.conv_2", 96, 3, 3, "tower_1.conv_1"),
          ("tower_2.conv", "pool_features", 1, 1, "in")],
    "B": [("conv", 384, 3, 3, "in"),
          ("tower.conv", 64, 1, 1, "in"), ("tower.conv_1", 96, 3, 3, "tower.conv"),
          ("tower.conv_2", 96, 3, 3, "tower.conv_1")],
    "C": [("conv", 192, 1, 1, "in"),
          ("tower.conv", "c7", 1, 1, "in"), ("tower.conv_1", "c7", 1, 7, "tower.conv"),
          ("tower.conv_2", 192, 7, 1, "tower.conv_1"),
          ("tower_1.conv", "c7", 1, 1, "in"), ("tower_1.conv_1", "c7", 7, 1, "tower_1.conv"),
          ("tower_1.conv_2", "c7", 1, 7, "tower_1.conv_1"), ("tower_1.conv_3", "c7", 7, 1, "tower_1.conv_2"),
          ("tower_1.conv_4", 192, 1, 7, "tower_1.conv_3"),
          ("tower_2.conv", 192, 1, 1, "in")],
    "D": [("tower.conv", 192, 1, 1, "in"), ("tower.conv_1", 320, 3, 3, "tower.conv"),
          ("tower_1.conv", 192, 1, 1, "in"), ("tower_1.conv_1", 192, 1, 7, "tower_1.conv"),
          ("tower_1.conv_2", 192, 7, 1, "tower_1.conv_1"), ("tower_1.conv_3", 192, 3, 3, "tower_1.conv_2")],
    "E": [("conv", 320, 1, 1, "in"),
          ("tower_conv", 384, 1, 1, "in"), ("tower_mixed_conv", 384, 1, 3, "tower_conv"),
          ("tower_mixed_conv_1", 384, 3, 1, "tower_conv"),
          ("tower_1_conv", 448, 1, 1, "in"), ("tower_1_conv_1", 384, 3, 3, "tower_1_conv"),
          ("tower_1_mixed_conv", 384, 1, 3, "tower_1_conv_1"), ("tower_1_mixed_conv_1", 384, 3, 1, "tower_1_conv_1"),
          ("tower_2_conv", 192, 1, 1, "in")],
}
# layers, in order: a stem conv (name, in, out, kh, kw), a pool (no tensors),
# or a mixed block (name, kind, input channels, its arguments).
INCEPTION_LAYERS = [
    ("conv", 3, 32, 3, 3), ("conv_1", 32, 32, 3, 3), ("conv_2", 32, 64, 3, 3), ("pool0",),
    ("conv_3", 64, 80, 1, 1), ("conv_4", 80, 192, 3, 3), ("pool1",),
    ("mixed", "A", 192, {"pool_features": 32}), ("mixed_1", "A", 256, {"pool_features": 64}),
    ("mixed_2", "A", 288, {"pool_features": 64}),
    ("mixed_3", "B", 288, {}),
    ("mixed_4", "C", 768, {"c7": 128}), ("mixed_5", "C", 768, {"c7": 160}), ("mixed_6", "C", 768, {"c7": 160}),
    ("mixed_7", "C", 768, {"c7": 192}),
    ("mixed_8", "D", 768, {}),
    ("mixed_9", "E", 1280, {}), ("mixed_10", "E", 2048, {}),
    ("pool2",),
]
INCEPTION_FEATURES, INCEPTION_CLASSES = 2048, 1008
# The C++ side's InceptionConfig (models/perceptual/inception.h): the official widths.
INCEPTION_KWARGS = {"width_divisor": 1, "classes": INCEPTION_CLASSES}


def inception_convs():
    """[(dotted conv name under layers., in, out, kh, kw)] in network order."""
    convs = []
    for layer in INCEPTION_LAYERS:
        if len(layer) == 5:
            convs.append(layer)
        elif len(layer) == 4:
            name, kind, cin, args = layer
            outs = {}
            for conv, out, kh, kw, src in _INCEPTION_BLOCKS[kind]:
                out = args[out] if isinstance(out, str) else out
                convs.append((f"{name}.{conv}", cin if src == "in" else outs[src], out, kh, kw))
                outs[conv] = out
    return convs


def inception_shapes():
    """{state-dict name: shape} of the detector, from the tables above."""
    shapes = collections.OrderedDict()
    for name, cin, out, kh, kw in inception_convs():
        shapes[f"layers.{name}.weight"] = (out, cin, kh, kw)
        for p in ("beta", "mean", "var"):
            shapes[f"layers.{name}.{p}"] = (out,)
    shapes["output.weight"] = (INCEPTION_CLASSES, INCEPTION_FEATURES)
    shapes["output.bias"] = (INCEPTION_CLASSES,)
    return shapes


def is_inception(state):
    return "layers.conv.weight" in state and "output.weight" in state


def convert_inception(state, path):
    """The detector's state dict -> (float32 tensors under the official names,
    metadata "perceptual" = "inception" and "inception_kwargs")."""
    want = inception_shapes()
    check_state(state, types.SimpleNamespace(state_dict=lambda: collections.OrderedDict(
        (n, torch.empty(s, device="meta")) for n, s in want.items())), f"{path}: Inception detector")
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in state.items()}
    return tensors, {"perceptual": "inception", "inception_kwargs": json.dumps(INCEPTION_KWARGS)}


# ---------------------------------------------------------------- StyleGAN2-ADA's VGG16 (vgg16.pt)

VGG16_TAP_WIDTHS = (64, 128, 256, 512, 512)  # the LPIPS lin layers' inputs


def vgg16_shapes(d):
    """{name: shape} of torchvision's VGG16 (without classifier.6) at widths / d,
    and the LPIPS lin layers, as models/perceptual/vgg16.h names them."""
    shapes, cin, i = collections.OrderedDict(), 3, 0
    for v in vgg_ref.CFG_D:
        if v == "M":
            i += 1
            continue
        shapes[f"features.{i}.weight"], shapes[f"features.{i}.bias"] = (v // d, cin, 3, 3), (v // d,)
        cin, i = v // d, i + 2  # the conv and its ReLU
    shapes["classifier.0.weight"], shapes["classifier.0.bias"] = (4096 // d, cin * 7 * 7), (4096 // d,)
    shapes["classifier.3.weight"], shapes["classifier.3.bias"] = (4096 // d, 4096 // d), (4096 // d,)
    for k, c in enumerate(VGG16_TAP_WIDTHS):
        shapes[f"lin{k}.model.1.weight"] = (1, c // d, 1, 1)
    return shapes


def convert_vgg16(vgg_obj, path, lpips_path):
    """torchvision's VGG16 state dict + LPIPS's vgg.pth -> (float32 tensors,
    metadata "perceptual" = "vgg16" and "vgg16_kwargs")."""
    if not lpips_path:
        raise ConvertError(f"{path}: torchvision's VGG16; StyleGAN2-ADA's vgg16.pt needs the LPIPS lin layers "
                           "too: give LPIPS's vgg.pth with --lpips")
    vgg = _as_state(vgg_obj, path, "the VGG16 file")
    _, lin_obj = load_source(lpips_path, "state-dict-raw")
    lin = _as_state(lin_obj, lpips_path, "the LPIPS file")
    if not is_lpips_lin(lin):
        raise ConvertError(f"{lpips_path}: not LPIPS's lin layers (linN.model.1.weight)")
    if "features.0.weight" not in vgg or vgg["features.0.weight"].dim() != 4:
        raise ConvertError(f"{path}: not torchvision's VGG16 (no features.0.weight [64, 3, 3, 3])")
    width = int(vgg["features.0.weight"].shape[0])
    d = 64 // width if width and 64 % width == 0 else 0
    if d not in (1, 2, 4, 8, 16):
        raise ConvertError(f"{path}: features.0.weight has {width} outputs; torchvision's VGG16 has 64")
    # The 1000-class layer pr50k3 never reads: checked, then dropped.
    for n, shape in (("classifier.6.weight", (1000, 4096 // d)), ("classifier.6.bias", (1000,))):
        if n in vgg and tuple(vgg[n].shape) != shape:
            raise ConvertError(f"{path}: VGG16: tensor {n} has shape {list(vgg[n].shape)}, expected {list(shape)}")
        vgg.pop(n, None)
    want = vgg16_shapes(d)

    def model(lins):  # check_state's reference: the names and shapes alone
        return types.SimpleNamespace(state_dict=lambda: collections.OrderedDict(
            (n, torch.empty(s, device="meta")) for n, s in want.items() if n.startswith("lin") == lins))
    check_state(vgg, model(False), f"{path}: VGG16")
    check_state(lin, model(True), f"{lpips_path}: LPIPS lin layers for VGG16")
    lin_names = [n for n in want if n.startswith("lin")]
    for n in lin_names:
        bad = (~(lin[n] >= 0)).nonzero()
        if len(bad):
            i = [int(v) for v in bad[0]]
            raise ConvertError(f"{lpips_path}: tensor {n}{i} is {lin[n][tuple(i)].item():g}; LPIPS lin weights "
                               "are non-negative (the VGG16 embedding takes their square roots)")
    tensors = {n: (vgg[n] if n in vgg else lin[n]).detach().to(torch.float32).contiguous() for n in want}
    return tensors, {"perceptual": "vgg16", "vgg16_kwargs": json.dumps({"width_divisor": d})}


def is_torchvision_vgg16(obj):
    return isinstance(obj, dict) and "features.28.weight" in obj and "classifier.3.weight" in obj


# ---------------------------------------------------------------- import

def _as_state(obj, path, what):
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConvertError(f"{path}: {what} is not a state dict of tensors")
    return collections.OrderedDict((k, v.detach().cpu()) for k, v in obj.items())


def _kind(state):
    if any(n.startswith("synthesis.") for n in state):
        return "G"
    if "b4.conv.weight" in state:
        return "D"
    return None


def read_input_file(path):
    """The bytes of an input file; a pipe or socket is refused before it is
    opened (opening a FIFO nobody writes blocked forever), as the C++ .bin
    reader refuses them."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        raise ConvertError(f"{path}: is a {'pipe' if stat.S_ISFIFO(mode) else 'socket'}, not a file "
                           "(save it to a file first)")
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ConvertError(f"{path}: cannot read ({e.strerror})")


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


def read_rosinality(obj, path):
    """{"g", "g_ema", "d", "latent_avg", ...}: optimizer states and args are ignored."""
    nets = {}
    latent = obj.get("latent_avg") if isinstance(obj.get("latent_avg"), torch.Tensor) else None
    for src, dst in (("g", "G"), ("g_ema", "G_ema")):
        if src in obj:
            nets[dst] = rosinality_generator(_as_state(obj[src], path, src), f"{path}: {src}", latent)
    if "d" in obj:
        nets["D"] = rosinality_discriminator(_as_state(obj["d"], path, "d"), f"{path}: d")
    return nets, {"G": {"w_avg_from_mapping": latent is None}}


def _check_same_g_kwargs(g, g_ema, path):
    """G and G_ema share one G_kwargs. A value no program takes is named
    first, as writing would name it, then the first difference."""
    if g == g_ema:
        return
    for kwargs in (g, g_ema):
        check_kwargs({"G_kwargs": json.dumps(kwargs)}, path)
    k = next(k for k in sorted({**g, **g_ema}) if g.get(k) != g_ema.get(k))
    raise ConvertError(f"{path}: G and G_ema have different configs ({k} {g.get(k)} and {g_ema.get(k)})")


def convert(nets, hints, path, args):
    """Checks every network against the reference built from the inferred config;
    -> (tensors with bundle names, metadata)."""
    tensors, meta = {}, {}
    g_kwargs = d_kwargs = None
    for key in ("G", "G_ema", "D"):
        if key not in nets:
            continue
        state = nets[key]
        where = f"{path}: {key}"
        if key == "D":
            kwargs = infer_d_kwargs(state, where, hints.get("D", {}), args)
            model = ref.Discriminator(**kwargs)
        else:
            # A pickle's G and G_ema each have hints (one G's replaced the
            # other's, so a conv_clamp on G alone was dropped unsaid); a
            # checkpoint's "G" hints are both networks'.
            g_hints = hints.get(key, hints.get("G", {}))
            kwargs = infer_g_kwargs(state, where, g_hints, args)
            model = ref.Generator(**kwargs)
            if g_hints.get("w_avg_from_mapping"):
                state["mapping.w_avg"] = torch.zeros([kwargs["w_dim"]])
                check_state(state, model, where)
                model.load_state_dict(state)
                samples = args.w_avg_samples if args.w_avg_samples is not None else 10000
                state["mapping.w_avg"] = rosinality_w_avg(model.double(), samples)
        check_state(state, model, where)
        if key == "D":
            d_kwargs = kwargs
        else:
            if g_kwargs is not None:
                _check_same_g_kwargs(g_kwargs, kwargs, path)
            g_kwargs = kwargs
        for n, t in state.items():
            tensors[f"{key}.{n}"] = t.detach().to(torch.float32).contiguous()
    if g_kwargs is not None:
        meta["G_kwargs"] = json.dumps(g_kwargs)
    if d_kwargs is not None:
        meta["D_kwargs"] = json.dumps(d_kwargs)
    if "training_set_kwargs" in hints and g_kwargs is not None:  # calc_metrics' dataset without --data
        meta["training_set_kwargs"] = json.dumps(hints["training_set_kwargs"])
    return tensors, meta


# ---------------------------------------------------------------- .bin files

_DT = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "BF16": np.uint16}  # BF16: its bits, viewed below
MAX_HEADER = 100000000  # the safetensors library's MAX_HEADER_SIZE, as engine/io/safetensors.cpp
DATA_CRC_KEY = "data_crc32"  # the C++ writer's (engine/io/safetensors.h), checked by both readers
METADATA_CRC_KEY = "metadata_crc32"  # the same for the metadata (kMetadataCrcKey)


def metadata_crc(meta):
    """kMetadataCrcKey's value (engine/io/safetensors.h): the CRC-32 of every
    entry but the two checks, in key order, each key and value followed by a
    zero byte."""
    crc = 0
    for key in sorted(meta):
        if key in (DATA_CRC_KEY, METADATA_CRC_KEY):
            continue
        for text in (key, meta[key]):
            crc = zlib.crc32(text.encode("utf-8", "surrogatepass") + b"\0", crc)
    return f"{crc:08x}"


# What models/*/config.cpp refuses when it reads a config, so that the
# converter refuses it too instead of writing a file no program loads:
# key -> (test, wanted). Counts apply to StyleGAN2 configs only (PGGAN and
# StyleGAN read a group size <= 1 as no minibatch-stddev layer).
_POSITIVE = ("mapping_lr_multiplier", "mapping_lrmul", "pixelnorm_epsilon")
_FRACTION = ("w_avg_beta", "dlatent_avg_beta", "style_mixing_prob")
_STYLEGAN2_COUNTS = ("mbstd_group_size", "mbstd_num_channels", "cmap_dim", "freeze_layers")


def check_kwargs(metadata, src):
    """Raises ConvertError naming the key for a network config value that is
    not finite (json.dumps wrote a bare NaN, which is not JSON), not of the
    type the programs read (a float or a bool where a whole number belongs),
    beyond their network size limit, or outside what they accept (a mapping
    lr multiplier of 0, a clamp of 0)."""
    family = metadata.get("family", "stylegan2")
    for which in ("G_kwargs", "D_kwargs", "psp_kwargs"):
        if which not in metadata:
            continue
        for key, v in json.loads(metadata[which]).items():
            number = isinstance(v, (int, float)) and not isinstance(v, bool)
            problem = setting_problem(key, v, family, strict=True)
            if problem:
                pass
            elif number and key in _POSITIVE and not v > 0:
                problem = "not > 0"
            elif number and key in _FRACTION and not 0 <= v <= 1:
                problem = "not in [0, 1]"
            elif key == "conv_clamp" and v is not None and number and not v > 0:
                problem = "neither None (no clamp) nor > 0"
            elif family == "stylegan2" and number and key in _STYLEGAN2_COUNTS and v < 0:
                problem = "negative"
            if problem:
                raise ConvertError(f"{src}: the network's {key} is {_shown(v)}, {problem}: a damaged or edited "
                                   f"pickle (no program loads such a {which}); nothing written")
    if family == "stylegan2" and "D_kwargs" in metadata:
        # models/stylegan2/discriminator.cpp refuses it, as networks.py's
        # MinibatchStdLayer cannot reshape such channels.
        d = json.loads(metadata["D_kwargs"])
        groups = d.get("mbstd_num_channels", 1)
        channels = min(d.get("channel_base", 32768) // 4, d.get("channel_max", 512))
        if groups > 0 and channels % groups:
            raise ConvertError(f"{src}: the discriminator's mbstd_num_channels {groups} does not divide its 4x4 "
                               f"block's {channels} channels (the official MinibatchStdLayer cannot run it); "
                               "nothing written")


def write_bin(path, tensors, metadata, src=None):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        array = tensors[name].numpy().astype("<f4")
        # Weights are finite: a NaN or an infinity (a damaged file, or a float64
        # beyond float32's range) made a network that draws NaN images silently.
        # The tracked mean of W (w_avg, v1's dlatent_avg) is passed over with a
        # warning, as the programs take it (models/network_file.h): a diverged
        # run overflows it while its weights stay finite, and the official code
        # uses it only to truncate.
        bad = np.flatnonzero(~np.isfinite(array))
        if bad.size and name.endswith(("w_avg", "dlatent_avg")):
            print(f"convert_weights: warning: {src or path}: {name} is not finite ({bad.size} values; its training "
                  "diverged): generate with --trunc 1, which does not use it", file=sys.stderr)
        elif bad.size:
            index = tuple(int(i) for i in np.unravel_index(bad[0], array.shape))
            raise ConvertError(f"{src or path}: tensor {name} holds {array.flat[bad[0]]} at {list(index)} "
                               f"({bad.size} values not finite); weights must be finite numbers")
        if name.endswith("running_var") and (array < 0).any():  # as models/network_file.cpp refuses on load
            raise ConvertError(f"{src or path}: tensor {name} holds {array[array < 0].flat[0]}: a running variance "
                               "is >= 0 (a damaged checkpoint); nothing written")
        data = array.tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    check_kwargs(metadata, src or path)
    crc = 0
    for blob in blobs:
        crc = zlib.crc32(blob, crc)
    meta = dict(metadata, **{DATA_CRC_KEY: f"{crc:08x}"})
    meta[METADATA_CRC_KEY] = metadata_crc(meta)
    header["__metadata__"] = meta
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    write_atomic(path, [struct.pack("<Q", len(head)), head] + blobs)


def names_file_descriptor(path):
    """True when path reaches an open descriptor of this process (/dev/stdout,
    /dev/fd/N, /proc/self/fd/N, or a link to one): it may lead to a regular
    file a shell redirection opened, which a rename would replace."""
    p = os.path.normpath(os.path.abspath(path))
    for _ in range(8):
        d = os.path.realpath(os.path.dirname(p))  # /dev/fd, /proc/self/fd -> /proc/<pid>/fd
        if os.path.basename(d) == "fd" and os.path.dirname(os.path.dirname(d)) == "/proc":
            return True
        if not os.path.islink(p):
            return False
        p = os.path.normpath(os.path.join(os.path.dirname(p), os.readlink(p)))
    return False


def write_atomic(path, chunks):
    make_parent_folder(path)  # only now: a run refused before the write leaves no new folder
    # A device, pipe or descriptor (/dev/null, a FIFO, /dev/stdout) is written
    # in place, appending (so `> f` and `>> f` mean what the shell says): a
    # rename would replace the node itself, or the file a redirection opened.
    # A link to a file has its file replaced.
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)
                             or (stat.S_ISREG(mode) and names_file_descriptor(path))):
        try:
            with open(path, "ab") as f:
                for c in chunks:
                    f.write(c)
        except OSError as e:
            raise ConvertError(f"{path}: cannot write ({e.strerror})")
        return
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise ConvertError(f"{path}: cannot write (a block device or socket, not a file)")
    if mode is not None and os.path.islink(path):
        path = os.path.realpath(path)
    # A temporary of this process alone (exclusive_temporary); a signal's
    # default action would leave it: while it exists, SIGINT and SIGTERM
    # remove it and end the process.
    try:
        with exclusive_temporary(path) as tmp:
            try:
                with open(tmp, "wb") as f:
                    for c in chunks:
                        f.write(c)
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.remove(tmp)
                raise
    except OSError as e:
        raise ConvertError(f"{path}: cannot write ({e.strerror})")


class _RepeatedKey(ValueError):
    pass


def _unique_keys(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise _RepeatedKey(f"the key {json.dumps(k)} appears twice in one object")
        out[k] = v
    return out


def _no_lone_surrogates(v):
    """An escaped lone surrogate ("\\ud800") is no Unicode text; nlohmann refuses it."""
    for x in (v.items() if isinstance(v, dict) else v if isinstance(v, list) else ()):
        for s in (x if isinstance(x, tuple) else (x,)):
            if isinstance(s, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in s):
                raise ValueError(f"a lone surrogate in {json.dumps(s)}")
            if isinstance(s, (dict, list)):
                _no_lone_surrogates(s)


def _safetensors_header(raw, path):
    """The header as the C++ reader (engine/io/safetensors.cpp) and the
    safetensors library take it: it begins with '{', is strict UTF-8 JSON
    (no NUL byte, which ends the C++ parse, no byte-order mark, no encoded
    surrogates), an object whose keys appear once each, and whose
    __metadata__, if any, maps strings to strings."""
    if len(raw) > MAX_HEADER:
        raise ConvertError(f"{path}: header of {len(raw)} bytes, over safetensors' {MAX_HEADER}")
    if not raw.startswith(b"{"):
        raise ConvertError(f"{path}: header does not begin with '{{' (not a .bin file?)")
    nul = raw.find(b"\0")
    if nul >= 0:
        raise ConvertError(f"{path}: header: not JSON: a NUL byte at byte {nul}")
    def no_constant(name):  # NaN, Infinity: Python's json takes them, JSON and nlohmann do not
        raise ValueError(f"{name} is not JSON")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=no_constant)
        _no_lone_surrogates(header)
    except RecursionError:
        raise ConvertError(f"{path}: header: JSON nested too deep")
    except UnicodeDecodeError as e:
        raise ConvertError(f"{path}: header is not UTF-8 (byte {e.start})")
    except _RepeatedKey as e:
        raise ConvertError(f"{path}: header: {e}")
    except ValueError as e:
        raise ConvertError(f"{path}: header is not JSON ({one_line(str(e), 200)}; not a .bin file?)")
    if not isinstance(header, dict):
        raise ConvertError(f"{path}: header is not a JSON object")
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ConvertError(f"{path}: __metadata__ must map strings to strings (safetensors' rule)")
    return header


def _whole_numbers(v, count=None):
    """A JSON list of whole numbers >= 0 (not true, not 4.0), count long if given."""
    return (isinstance(v, list) and (count is None or len(v) == count)
            and all(type(x) is int and x >= 0 for x in v))


def read_bin(path, keep_crc_key=False):
    """A ganforge .bin (safetensors) -> ({name: tensor}, metadata), checked;
    the metadata's and the data's CRC-32 keys are checked and left out of
    the metadata unless keep_crc_key."""
    data = read_input_file(path)
    if len(data) < 8:
        raise ConvertError(f"{path}: truncated (no header length)")
    n = struct.unpack("<Q", data[:8])[0]
    if 8 + n > len(data):
        kind = "a NumPy .npy file" if data[:6] == b"\x93NUMPY" else "not a ganforge .bin, or truncated"
        raise ConvertError(f"{path}: {kind} (its first 8 bytes give a header of {n} bytes; the file has {len(data)})")
    header = _safetensors_header(data[8:8 + n], path)
    meta = header.pop("__metadata__", {})
    body = memoryview(data)[8 + n:]
    # The writer's CRC-32 of the data section (engine/io/safetensors.h): a
    # flipped bit in a weight would be exported as another weight.
    want_meta = meta.get(METADATA_CRC_KEY) if keep_crc_key else meta.pop(METADATA_CRC_KEY, None)
    if want_meta is not None and metadata_crc(meta) != want_meta:
        raise ConvertError(f"{path}: its metadata fails its CRC-32 ({metadata_crc(meta)}, recorded {want_meta!r}): "
                           "damaged since it was written (a bad copy, disk or download); use another copy")
    want = meta.get(DATA_CRC_KEY) if keep_crc_key else meta.pop(DATA_CRC_KEY, None)
    if want is not None and f"{zlib.crc32(body):08x}" != want:
        raise ConvertError(f"{path}: its tensor data fails its CRC-32 ({zlib.crc32(body):08x}, recorded {want!r}): "
                           "damaged since it was written (a bad copy, disk or download); use another copy")
    tensors = {}
    for name, h in header.items():
        if isinstance(h, dict) and isinstance(h.get("dtype"), str) and h["dtype"] not in _DT:
            raise ConvertError(f"{path}: tensor {name} has dtype {h['dtype']}; F32, F64, F16 and BF16 are read")
        # Whole numbers as the C++ reader takes them (engine/io/safetensors.cpp):
        # 4.0 or true ended in a TypeError from slicing.
        if isinstance(h, dict) and "shape" in h and not _whole_numbers(h["shape"]):
            raise ConvertError(f"{path}: tensor '{name}' has a bad shape {json.dumps(h['shape'])[:80]}")
        if isinstance(h, dict) and "data_offsets" in h and not _whole_numbers(h["data_offsets"], 2):
            raise ConvertError(f"{path}: tensor '{name}' has bad data_offsets {json.dumps(h['data_offsets'])[:80]}")
        try:
            dt, shape, (b, e) = _DT[h["dtype"]], h["shape"], h["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise ConvertError(f"{path}: tensor {name} has a bad header entry {h}")
        if not 0 <= b <= e <= len(body) or e - b != int(np.prod(shape)) * np.dtype(dt).itemsize:
            raise ConvertError(f"{path}: tensor {name}: byte range {b}..{e} does not fit the file or its shape")
        values = np.frombuffer(body[b:e], dtype=np.dtype(dt).newbyteorder("<"))
        t = torch.from_numpy(values.astype(dt).reshape(shape))
        tensors[name] = t.view(torch.bfloat16) if h["dtype"] == "BF16" else t
    # The data section tiled by the tensors, as the C++ reader requires
    # (engine/io/safetensors.cpp): a header pointing two tensors at one range
    # exported one's weights as the other's.
    at, previous = 0, None
    for b, e, name in sorted((h["data_offsets"][0], h["data_offsets"][1], name) for name, h in header.items()):
        if b < at:
            raise ConvertError(f"{path}: tensor '{name}' overlaps tensor '{previous}' (data bytes [{b}, {min(at, e)}))")
        if b > at:
            raise ConvertError(f"{path}: data bytes [{at}, {b}) belong to no tensor (before tensor '{name}'): "
                               "a tensor missing from the header?")
        at, previous = e, name
    if at != len(body):
        raise ConvertError(f"{path}: data section has {len(body) - at} bytes no tensor covers")
    return tensors, meta


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


def check_flags_apply(args, family, payload):
    """The import flags given for a source they do not change are refused in
    one line (--conv-clamp on a PGGAN pickle was ignored without a word), as
    --alexnet and --lpips are."""
    rosinality_without_w_avg = family == "stylegan2" and isinstance(payload, tuple) and \
        payload[1].get("G", {}).get("w_avg_from_mapping")
    rules = [("--conv-clamp", args.conv_clamp != "auto", family == "stylegan2", "StyleGAN2 networks"),
             ("--mapping-lr-multiplier", args.mapping_lr_multiplier is not None, family in ("stylegan", "stylegan2"),
              "StyleGAN and StyleGAN2 networks"),
             ("--mbstd-group-size", args.mbstd_group_size is not None, family in ("pggan", "stylegan", "stylegan2"),
              "PGGAN, StyleGAN and StyleGAN2 networks"),
             ("--psp-arch", args.psp_arch is not None, family == "psp", "pSp checkpoints"),
             ("--w-avg-samples", args.w_avg_samples is not None, bool(rosinality_without_w_avg),
              "rosinality checkpoints without latent_avg")]
    for flag, given, applies, to in rules:
        if given and not applies:
            what = {"stylegan2": "a StyleGAN2 network", "stylegan": "a StyleGAN network", "pggan": "a PGGAN network",
                    "psp": "a pSp checkpoint"}.get(family, f"{family} weights")
            raise ConvertError(f"{args.src}: {flag} applies to {to}; this is {what}, which it would not change")


def import_(args):
    if args.format == "celebahq-classifiers":
        import_classifiers(args)
        return
    if os.path.isdir(args.src):
        raise ConvertError(f"{args.src}: is a folder; the one folder import reads is the CelebA-HQ attribute "
                           f"classifiers' ({CLASSIFIERS_HINT})")
    family, payload = load_source(args.src, args.format)
    check_flags_apply(args, family, payload)
    if args.alexnet and family != "lpips":
        raise ConvertError(f"{args.src}: --alexnet goes with an LPIPS import (SRC: LPIPS's alex.pth)")
    if args.lpips and family != "vgg16":
        raise ConvertError(f"{args.src}: --lpips goes with a VGG16 import (--format vgg16; SRC: torchvision's "
                           "vgg16-397923af.pth)")
    if family in ("lpips", "arcface", "moco", "inception", "vgg16"):
        if family == "lpips":
            tensors, meta = convert_lpips(payload, args.src, args.alexnet)
        elif family == "vgg16":
            tensors, meta = convert_vgg16(payload, args.src, args.lpips)
        elif family == "arcface":
            tensors, meta = convert_arcface(payload, args.src)
        elif family == "moco":
            tensors, meta = convert_moco(payload, args.src)
        else:
            tensors, meta = convert_inception(payload, args.src)
        write_bin(args.dst, tensors, meta, args.src)
        kind = meta["perceptual"]
        what = {"lpips": "the LPIPS (AlexNet) loss network", "arcface": "the ArcFace loss network",
                "moco": "MoCo's ResNet-50, pSp's MoCo loss network",
                "inception": "the FID/IS Inception detector",
                "vgg16": "StyleGAN2-ADA's VGG16 (torchvision's with the LPIPS lin layers)"}[kind]
        print(f"wrote {what} to {args.dst}")
        print(f"{kind}_kwargs: {meta[kind + '_kwargs']}")
        return
    if family == "psp":
        tensors, meta = convert_psp(payload, args.src, args)
        write_bin(args.dst, tensors, meta, args.src)
        print(f"wrote the pSp encoder, decoder (G_ema){' and latent_avg' if 'latent_avg' in tensors else ''} "
              f"to {args.dst}")
        for key in ("psp_kwargs", "G_kwargs"):
            print(f"{key}: {meta[key]}")
        return
    if family == "pggan":
        nets = payload
        tensors, meta = convert_pggan(nets, args.src, args)
    elif family == "stylegan":
        nets = payload
        tensors, meta = convert_stylegan(nets, args.src, args)
    else:
        nets, hints = payload
        tensors, meta = convert(nets, hints, args.src, args)
    write_bin(args.dst, tensors, meta, args.src)
    print(f"wrote {', '.join(k for k in ('G', 'D', 'G_ema') if k in nets)} to {args.dst}")
    for key in ("G_kwargs", "D_kwargs", "training_set_kwargs"):
        if key in meta:
            print(f"{key}: {meta[key]}")


def import_classifiers(args):
    given = [flag for flag, v in (("--alexnet", args.alexnet), ("--lpips", args.lpips), ("--psp-arch", args.psp_arch),
                                  ("--conv-clamp", args.conv_clamp != "auto"),
                                  ("--mapping-lr-multiplier", args.mapping_lr_multiplier),
                                  ("--mbstd-group-size", args.mbstd_group_size is not None),
                                  ("--w-avg-samples", args.w_avg_samples)) if v]
    if given:
        raise ConvertError(f"{args.src}: {given[0]} does not apply to the CelebA-HQ attribute classifiers "
                           "(--format celebahq-classifiers takes no other flag)")
    tensors, meta = convert_celebahq_classifiers(args.src)
    write_bin(args.dst, tensors, meta, args.src)
    res = sorted({json.loads(meta[f"classifier_{i:02d}_kwargs"])["resolution"] for i in range(CLASSIFIER_COUNT)})
    print(f"wrote the {CLASSIFIER_COUNT} CelebA-HQ attribute classifiers (Linear Separability) to {args.dst}")
    print(f"classifiers: {meta['classifiers']}")
    print(f"resolution: {', '.join(map(str, res))}")


def one_line(message, max_chars=4096):
    """A message as one line: control characters (a newline in a tensor name
    or a dict key taken from the file) written as escapes, and at most
    max_chars characters."""
    out = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in message)
    return out if len(out) <= max_chars else out[:max_chars - 3] + "..."


def main(argv=None):
    args = parse_args(argv) if argv is not None or "_ARGS" not in globals() else _ARGS
    # A corrupt pickle can leave objects that fail as they are freed, which
    # CPython prints beside the one line ("SystemError: deallocated bytearray
    # object has exported buffers", through sys.excepthook or
    # sys.unraisablehook): every error here is the line below, so both are held.
    held = sys.excepthook, sys.unraisablehook
    sys.excepthook = lambda *exc_info: None
    sys.unraisablehook = lambda unraisable: None
    try:
        return _convert(args)
    finally:
        sys.excepthook, sys.unraisablehook = held


def _convert(args):
    try:
        if args.cmd == "import":
            import_(args)
        else:
            export(args)
    except ConvertError as e:
        print(f"convert_weights: error: {one_line(str(e))}", file=sys.stderr)
        return 1
    except Exception as e:  # a crafted file can break assumptions anywhere: one line, not a traceback
        msg = " ".join(str(e).split())[:300]
        print(f"convert_weights: error: {args.src}: {type(e).__name__}: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C: no traceback; the process ends by SIGINT, as a C++ program does
        die_of(signal.SIGINT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
