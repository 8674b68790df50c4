"""A compact PyTorch reference of the networks and losses pSp trains its
encoders with (pixel2style2pixel training/coach.py calc_loss, criteria/):

  - LPIPS with AlexNet (criteria/lpips/): the input shifted and scaled by
    BaseNet's mean/std buffers, torchvision's AlexNet feature stack tapped
    after its five ReLUs (target_layers 2, 5, 8, 10, 12, counted from 1), each
    tap unit-normalized (normalize_activation, eps 1e-10), squared difference,
    the 1x1 lin convs without bias (LinLayers: Sequential(Identity, Conv2d)),
    spatial mean, sum over taps and batch divided by the batch size;
  - ArcFace (criteria/id_loss.py over models/encoders/model_irse.py):
    Backbone(112, 50, 'ir_se', drop_ratio=0.6, affine=True) in eval mode, on
    the crop [35:223, 32:220] pooled to 112x112; the loss is the mean of
    1 - <f(y_hat), f(y)> with the target's features detached;
  - MoCo (criteria/moco_loss.py, from encoder4editing): torchvision's
    resnet50() without its fc, in eval mode, holding MoCo v2's query encoder,
    on the image resized to 224x224 (F.interpolate's default, nearest), its
    pooled features unit-normalized (F.normalize); the loss is the mean of
    1 - <g(y_hat), g(y)> with the target's features detached;
  - w_norm (criteria/w_norm.py): the sum over the batch of the Frobenius norm
    of latent - latent_avg, divided by the batch size;
  - l2: F.mse_loss.

Written from pSp's semantics, with pSp's module names (net.layers.*, lin.*;
input_layer.*, body.*, output_layer.*). The AlexNet channel counts and the
ArcFace body (units, depths, SE reduction, embedding width) are parameters so
tests can use small networks; with the defaults they are AlexNet's and
IR-SE50's (same_as_torchvision() checks the AlexNet against torchvision's).
ResNet's block counts and base width are parameters too; with the defaults it
is ResNet-50 (resnet_same_as_torchvision() checks it against torchvision's).
"""
import collections

import torch
import torch.nn as nn
import torch.nn.functional as F

import psp_reference as psp_ref

ALEX_CHANNELS = (64, 192, 384, 256, 256)
IR_SE50 = dict(mode="ir_se", units=(3, 4, 14, 3), depths=(64, 128, 256, 512), se_reduction=16, embedding=512)
ID_CROP = (35, 223, 32, 220)  # rows, cols of a 256x256 image (id_loss.extract_feats)


def alexnet_features(channels=ALEX_CHANNELS):
    """torchvision's alexnet().features with other widths."""
    c = channels
    return nn.Sequential(
        nn.Conv2d(3, c[0], 11, 4, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(c[0], c[1], 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(c[2], c[3], 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(c[3], c[4], 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))


def same_as_torchvision():
    """The default-width stack has torchvision 0.14's AlexNet names, shapes and
    outputs (needs python3-torchvision)."""
    from torchvision.models import alexnet
    tv = alexnet().features.eval()
    ours = alexnet_features().eval()
    a, b = tv.state_dict(), ours.state_dict()
    assert [(k, tuple(v.shape)) for k, v in a.items()] == [(k, tuple(v.shape)) for k, v in b.items()]
    ours.load_state_dict(a)
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        assert torch.equal(tv(x), ours(x))
    assert [type(m) for m in tv] == [type(m) for m in ours]
    for m, n in zip(tv, ours):
        assert repr(m) == repr(n), (m, n)


def normalize_activation(x, eps=1e-10):
    return x / (torch.sqrt(torch.sum(x ** 2, dim=1, keepdim=True)) + eps)


class AlexNet(nn.Module):
    """pSp's BaseNet/AlexNet: z-score, the feature stack, the five taps."""

    def __init__(self, channels=ALEX_CHANNELS):
        super().__init__()
        self.register_buffer("mean", torch.tensor([-.030, -.088, -.188])[None, :, None, None])
        self.register_buffer("std", torch.tensor([.458, .448, .450])[None, :, None, None])
        self.layers = alexnet_features(channels)
        self.target_layers = [2, 5, 8, 10, 12]

    def forward(self, x):
        x = (x - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.layers, 1):
            x = layer(x)
            if i in self.target_layers:
                out.append(normalize_activation(x))
            if len(out) == len(self.target_layers):
                break
        return out


class LPIPS(nn.Module):
    def __init__(self, channels=ALEX_CHANNELS):
        super().__init__()
        self.net = AlexNet(channels)
        self.lin = nn.ModuleList(nn.Sequential(nn.Identity(), nn.Conv2d(c, 1, 1, 1, 0, bias=False)) for c in channels)

    def forward(self, x, y):
        fx, fy = self.net(x), self.net(y)
        res = [lin((a - b) ** 2).mean((2, 3), True) for a, b, lin in zip(fx, fy, self.lin)]
        return torch.sum(torch.cat(res, 0)) / x.shape[0]


class Backbone(nn.Module):
    """model_irse.Backbone(112, ..., drop_ratio=0.6, affine) over the IR body of psp_reference."""

    def __init__(self, mode="ir_se", units=IR_SE50["units"], depths=IR_SE50["depths"], se_reduction=16,
                 embedding=512, affine=True, drop_ratio=0.6):
        super().__init__()
        self.input_layer = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64))
        d = depths[-1]
        self.output_layer = nn.Sequential(nn.BatchNorm2d(d), nn.Dropout(drop_ratio), nn.Flatten(),
                                          nn.Linear(d * 7 * 7, embedding), nn.BatchNorm1d(embedding, affine=affine))
        self.body = nn.Sequential(*[psp_ref.BottleneckIR(a, b, s, mode == "ir_se", se_reduction)
                                    for a, b, s in psp_ref.ir_units(units, depths)])

    def forward(self, x):
        x = self.output_layer(self.body(self.input_layer(x)))
        return x / torch.norm(x, 2, 1, True)


RESNET50 = dict(layers=(3, 4, 6, 3), width=64)


class Bottleneck(nn.Module):
    """torchvision's Bottleneck (v1.5: the stride in the 3x3 conv)."""

    def __init__(self, cin, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.downsample = None
        if stride != 1 or cin != width * 4:
            self.downsample = nn.Sequential(nn.Conv2d(cin, width * 4, 1, stride, bias=False), nn.BatchNorm2d(width * 4))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    """torchvision's ResNet with Bottleneck blocks up to its avgpool (MocoLoss
    keeps children()[:-1]): the pooled features [N, 32 width]."""

    def __init__(self, layers=RESNET50["layers"], width=RESNET50["width"]):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        cin = width
        for s, n in enumerate(layers):
            blocks = []
            for b in range(n):
                blocks.append(Bottleneck(cin, width << s, 2 if b == 0 and s > 0 else 1))
                cin = (width << s) * 4
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for s in range(1, 5):
            x = getattr(self, f"layer{s}")(x)
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


def resnet_same_as_torchvision():
    """The default ResNet has torchvision 0.14's resnet50 names and shapes
    (without fc) and the same features as its children()[:-1], MocoLoss's
    model (needs python3-torchvision)."""
    from torchvision.models import resnet50
    tv = resnet50().eval()
    ours = ResNet().eval()
    a = collections.OrderedDict((k, v) for k, v in tv.state_dict().items() if not k.startswith("fc."))
    b = ours.state_dict()
    assert [(k, tuple(v.shape)) for k, v in a.items()] == [(k, tuple(v.shape)) for k, v in b.items()]
    with torch.no_grad():
        for t in a.values():  # non-trivial batch-norm statistics
            if t.dtype == torch.float32 and t.dim() == 1:
                t.uniform_(0.5, 1.5)
    ours.load_state_dict(a)
    tv.load_state_dict(a, strict=False)
    x = torch.randn(2, 3, 80, 72)
    with torch.no_grad():
        want = nn.Sequential(*list(tv.children())[:-1])(x).squeeze(3).squeeze(2)
        got = ours(x)
    assert torch.allclose(want, got, rtol=1e-5, atol=1e-6), (want - got).abs().max()


def moco_features(net, x):
    """MocoLoss.extract_feats: nearest resize to 224, the features, unit length."""
    return F.normalize(net(F.interpolate(x, size=224)), dim=1)


def moco_loss(net, y_hat, y):
    """MocoLoss.forward's loss (net in eval mode); x, the input, only feeds its logs."""
    y_feats = moco_features(net, y).detach()
    y_hat_feats = moco_features(net, y_hat)
    return (1 - (y_hat_feats * y_feats).sum(1)).mean()


def id_features(facenet, x):
    r0, r1, c0, c1 = ID_CROP
    return facenet(F.adaptive_avg_pool2d(x[:, :, r0:r1, c0:c1], (112, 112)))


def id_loss(facenet, y_hat, y):
    """IDLoss.forward's loss (facenet in eval mode); x, the input, only feeds its logs."""
    y_feats = id_features(facenet, y).detach()
    y_hat_feats = id_features(facenet, y_hat)
    return (1 - (y_hat_feats * y_feats).sum(1)).mean()


def sim_improvement(features, y_hat, y, x):
    """IDLoss/MocoLoss.forward's sim_improvement (coach.calc_loss logs it as
    id_improve): the mean over the batch of <f(y_hat), f(y)> - <f(y), f(x)>,
    x the encoder's input; a log, outside the graph."""
    with torch.no_grad():
        fy_hat, fy, fx = features(y_hat), features(y), features(x)
        return ((fy_hat * fy).sum(1) - (fy * fx).sum(1)).mean()


def w_norm_loss(latent, latent_avg=None):
    if latent_avg is not None:
        latent = latent - latent_avg
    return torch.sum(latent.norm(2, dim=(1, 2))) / latent.shape[0]


def l2_loss(y_hat, y):
    return F.mse_loss(y_hat, y)


def crop(img):
    r0, r1, c0, c1 = ID_CROP
    return img[:, :, r0:r1, c0:c1]


def to_rgb(img):
    """Grey images replicated to RGB for the loss networks (PIL's convert('RGB'))."""
    return img.expand(-1, 3, -1, -1) if img.shape[1] == 1 else img
