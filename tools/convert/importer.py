"""import: the source read, its flags checked, converted and written as a .bin."""
import json
import os

from .bin_files import write_bin
from .celebahq_classifiers import CLASSIFIERS_HINT, CLASSIFIER_COUNT, convert_celebahq_classifiers
from .errors import ConvertError
from .inception import convert_inception
from .loss_networks import convert_arcface, convert_lpips
from .moco import convert_moco
from .pggan_tf import convert_pggan
from .psp import convert_psp
from .sources import load_source
from .stylegan2_bundle import convert
from .stylegan_tf import convert_stylegan
from .vgg16 import convert_vgg16


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
