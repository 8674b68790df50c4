"""Which loss network a dict holds, by its keys: LPIPS's lin layers, pSp's
ArcFace Backbone, torchvision's VGG16 (load_source sorts files by these, and
the converters check their second files with them)."""
import re


_LPIPS_LIN = re.compile(r"lin(\d+)\.model\.1\.weight$")


def is_lpips_lin(obj):
    return isinstance(obj, dict) and bool(obj) and all(isinstance(k, str) and _LPIPS_LIN.match(k) for k in obj)


def is_arcface(obj):
    return isinstance(obj, dict) and "output_layer.3.weight" in obj and "input_layer.0.weight" in obj


def is_torchvision_vgg16(obj):
    return isinstance(obj, dict) and "features.28.weight" in obj and "classifier.3.weight" in obj
