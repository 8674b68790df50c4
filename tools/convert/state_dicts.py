"""A loaded dict checked to be a state dict of tensors."""
import collections

import torch

from .errors import ConvertError


def _as_state(obj, path, what):
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConvertError(f"{path}: {what} is not a state dict of tensors")
    return collections.OrderedDict((k, v.detach().cpu()) for k, v in obj.items())
