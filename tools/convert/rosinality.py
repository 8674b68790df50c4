"""rosinality/stylegan2-pytorch checkpoints: its generator and discriminator
under the official names, and w_avg from the mapping when the checkpoint
has no latent_avg."""
import collections
import math
import re

import torch

import stylegan2_reference as ref

from .config_inference import tensor_dims
from .errors import ConvertError
from .state_dicts import _as_state


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
