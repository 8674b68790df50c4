"""The 40 CelebA-HQ attribute classifiers of StyleGAN (v1)'s Linear
Separability metric (celebahq-classifier-NN-<name>.pkl, each PGGAN's
D_paper) into one .bin."""
import json
import os
import re

import numpy as np
import torch

import pggan_reference as pgref

from .bin_files import check_kwargs
from .errors import ConvertError
from .files import read_input_file
from .official_pickle import _restricted_load
from .pggan_tf import pggan_d_kwargs, tf_network_state
from .restricted_pickle import TFNetwork


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
