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
tools/reference/stylegan2_reference.py); --net all writes {"G": ..., "D": ..., "G_ema": ...}.

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

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [TOOLS, os.path.join(TOOLS, "reference")]  # the helpers; the references convert/ runs
from interrupts import die_by_signals, die_of  # noqa: E402  (standard library only)

if __name__ == "__main__":
    die_by_signals()

import argparse  # noqa: E402
import stat  # noqa: E402

import pydeps  # noqa: E402  (standard library only)
from convert.files import parent_folder_problem  # noqa: E402  (standard library only)
from convert.limits import MAX_NETWORK_SIZE  # noqa: E402  (standard library only)


def _clamp(v):
    if v in ("auto", "none"):
        return None if v == "none" else v
    return _CLAMP(v)


# Where the official metrics get the detector (used before torch is imported: --help).
INCEPTION_URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt"
_CLAMP = pydeps.number(0, lo_open=True)
_LR_MULT = pydeps.number(0, lo_open=True)
_MBSTD = pydeps.integer(0, MAX_NETWORK_SIZE)
_PATH, _TEXT = pydeps.text("a file name"), pydeps.text("a value")  # "" is refused
_W_AVG_SAMPLES = pydeps.integer(1, 1000000)  # float64 [N, z_dim] in one batch: 4 GB at the cap for z_dim 512


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
    (train/output_paths.h check_output_file). Regular files, pipes and sockets only: a
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

# The converter (NumPy and PyTorch load with it), one job a module under
# convert/; the names tests and tools use as convert_weights.<name> are
# re-exported here.
from convert.bin_files import check_kwargs, metadata_crc, read_bin, write_bin  # noqa: E402
from convert.errors import ConvertError, one_line  # noqa: E402
from convert.exporter import export  # noqa: E402
from convert.files import write_atomic  # noqa: E402
from convert.importer import import_  # noqa: E402
from convert.inception import INCEPTION_LAYERS, inception_convs, inception_shapes  # noqa: E402
from convert.loss_networks import arcface_config  # noqa: E402
from convert.official_pickle import _load_storage, _restricted_load  # noqa: E402
from convert.pggan_tf import convert_pggan, read_pggan_pickle  # noqa: E402
from convert.psp import PSP_ARCH  # noqa: E402
from convert.restricted_pickle import RestrictedUnpickler, StorageRef, StorageType, _rebuild_tensor_v2  # noqa: E402
from convert.stylegan2_bundle import convert  # noqa: E402
from convert.stylegan_tf import convert_stylegan, read_stylegan_pickle  # noqa: E402
from convert.torch_files import read_legacy_torch, read_torchscript, read_zip_torch  # noqa: E402
from convert.vgg16 import vgg16_shapes  # noqa: E402

# What tests and tools use as convert_weights.<name> (cw.<name>).
__all__ = ["ConvertError", "INCEPTION_LAYERS", "MAX_NETWORK_SIZE", "PSP_ARCH", "RestrictedUnpickler", "StorageRef",
           "StorageType", "_load_storage", "_rebuild_tensor_v2", "_restricted_load", "arcface_config", "check_kwargs",
           "convert", "convert_pggan", "convert_stylegan", "die_by_signals", "inception_convs", "inception_shapes",
           "main", "metadata_crc", "read_bin", "read_legacy_torch", "read_pggan_pickle", "read_stylegan_pickle",
           "read_torchscript", "read_zip_torch", "vgg16_shapes", "write_atomic", "write_bin"]


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
