#!/usr/bin/env python3
"""Writes the fixtures of pSp's training losses and optimizers in tests/data/:

  psp_lpips.bin      a small LPIPS (AlexNet widths 8, 12, 16, 12, 12) saved as
                     a user's files are (a torchvision AlexNet state dict and
                     an LPIPS v0.1 lin file) and converted by
                     tools/convert_weights.py;
  psp_arcface.bin    a small ArcFace Backbone (IR-SE units 1, 1, 1, 1 at
                     depths 8, 12, 16, 20, SE reduction 4, embedding 8, running
                     statistics gathered from random batches) saved as
                     model_ir_se50.pth is (num_batches_tracked included) and
                     converted;
  psp_moco.bin       a small ResNet (blocks 1, 2, 1, 1, width 4, running
                     statistics gathered from random batches) saved as MoCo's
                     moco_v2_800ep_pretrain.pth.tar is (legacy torch.save
                     format: epoch, arch, a state_dict of module.encoder_q.*
                     with its fc head, module.encoder_k.*, the queue, and an
                     optimizer state) and converted;
  resnet50_names.json  torchvision's resnet50 tensor names and shapes without
                     fc and num_batches_tracked (what the converted MoCo file holds);
  psp_losses_io.bin  inputs, and the losses of tools/perceptual_reference.py
                     with their gradients: lpips.*, lpips_grey.* (1-channel
                     images replicated to RGB), id.* (256 px images resized
                     from 32 px ones, gradients taken in the small ones),
                     w_norm.*, l2.*, total.* (coach.calc_loss's sum with
                     every lambda non-zero but moco's, and the logged
                     id_improve for an input equal to the target), moco.*
                     (256 px images resized from 32 px ones) and total_moco.*
                     (moco with l2, lpips and w_norm, and id_improve: coach.py
                     takes moco or id, not both);
  psp_optim_io.bin   20 steps of Ranger (written below from the formula of
                     pSp's training/ranger.py) and of torch.optim.Adam on a
                     fixed non-quadratic loss, in float64, for a 4-D, a 2-D
                     (both gradient-centralized) and a 1-D parameter.

Weights are random (none of the real ones can be downloaded here). The loss
values are computed in float64 from the float32 weights and stored as float32.
"""
import collections
import copy
import json
import math
import os
import sys
import tempfile

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402
if __name__ == "__main__":  # the command line first: --help and a bad flag need no PyTorch
    _p = pydeps.OneLineParser(description=__doc__.split("\n\n")[0])
    _p.add_argument("--outdir", type=pydeps.text("a folder"), default=os.path.join(TOOLS, "..", "tests", "data"),
                    help="where the files go (default tests/data)")
    OUTDIR = _p.parse_args().outdir
pydeps.require("make_psp_train_fixtures", "numpy", "torch", "torchvision")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import convert_weights as cw  # noqa: E402
import perceptual_reference as pr  # noqa: E402
from golden_io import write_safetensors  # noqa: E402

LPIPS_CHANNELS = (8, 12, 16, 12, 12)
ARCFACE = dict(mode="ir_se", units=(1, 1, 1, 1), depths=(8, 12, 16, 20), se_reduction=4, embedding=8)
LAMBDAS = dict(id=0.1, l2=1.0, lpips=0.8, lpips_crop=0.2, l2_crop=0.3, w_norm=0.005)
MOCO = dict(layers=(1, 2, 1, 1), width=4)  # layer2.1: an identity shortcut
MOCO_LAMBDAS = dict(l2=1.0, lpips=0.8, w_norm=0.005, moco=0.5)


def small_lpips(gen):
    net = pr.LPIPS(LPIPS_CHANNELS)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            r = torch.randn(t.shape, generator=gen)
            if name.startswith("lin."):
                t.copy_(0.1 * r.abs())  # LPIPS's learned lin weights are non-negative
            elif name.endswith(".bias"):
                t.copy_(0.1 + 0.05 * r)  # no all-zero tap positions: the normalization's gradient is then finite
            elif name.endswith(".weight"):
                t.copy_(r / math.sqrt(t[0].numel()))
    return net.eval()


def user_lpips_files(net, gen, tmp):
    """The files a user has: torchvision's AlexNet state dict (classifier included) and LPIPS's alex.pth."""
    alex = collections.OrderedDict()
    for k, v in net.net.layers.state_dict().items():
        alex["features." + k] = v.clone()
    for i, (a, b) in zip((1, 4, 6), ((12 * 36, 20), (20, 20), (20, 10))):  # a small classifier, dropped on import
        alex[f"classifier.{i}.weight"] = torch.randn(b, a, generator=gen)
        alex[f"classifier.{i}.bias"] = torch.randn(b, generator=gen)
    lin = collections.OrderedDict((f"lin{k}.model.1.weight", net.lin[k][1].weight.detach().clone()) for k in range(5))
    paths = os.path.join(tmp, "alexnet-owt.pth"), os.path.join(tmp, "alex.pth")
    torch.save(alex, paths[0])
    torch.save(lin, paths[1])
    return paths


def randomized(net, gen, input_shape):
    """net with random weights (PReLU slopes near 0.25, batch-norm scales near
    1) and the running statistics of a trained network: the average over
    random batches of input_shape. In eval mode."""
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if t.dtype != torch.float32 or "running" in name:
                continue
            r = torch.randn(t.shape, generator=gen)
            if name.endswith("res_layer.2.weight") or name.endswith("input_layer.2.weight"):  # PReLU slopes
                t.copy_(0.25 + 0.1 * r)
            elif t.dim() == 1 and name.endswith("weight"):  # batch-norm scales
                t.copy_(1 + 0.2 * r)
            elif t.dim() == 1:
                t.copy_(0.1 * r)
    bns = [m for m in net.modules() if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))]
    for m in bns:
        m.momentum = None
    net.train()
    with torch.no_grad():
        for _ in range(4):
            net(torch.rand(input_shape, generator=gen) * 2 - 1)
    for m in bns:
        m.momentum = 0.1
    return net.eval()


def small_arcface(gen):
    return randomized(pr.Backbone(**ARCFACE), gen, [4, 3, 112, 112])


def small_moco(gen):
    return randomized(pr.ResNet(**MOCO), gen, [4, 3, 224, 224])


def save_moco_checkpoint(net, gen, path):
    """As MoCo's main_moco.py saves a checkpoint (the parts MocoLoss drops included)."""
    state = collections.OrderedDict()
    for k, v in net.state_dict().items():
        state["module.encoder_q." + k] = v.clone()
    feats = MOCO["width"] * 32
    for i, shape in ((0, (feats, feats)), (2, (8, feats))):  # MoCo v2's MLP head, dropped on import
        state[f"module.encoder_q.fc.{i}.weight"] = torch.randn(shape, generator=gen)
        state[f"module.encoder_q.fc.{i}.bias"] = torch.randn(shape[0], generator=gen)
    for k in list(state):
        state["module.encoder_k." + k[len("module.encoder_q."):]] = state[k].clone()
    state["module.queue"] = torch.randn(8, 16, generator=gen)
    state["module.queue_ptr"] = torch.zeros(1, dtype=torch.long)
    optimizer = {"state": {0: {"momentum_buffer": torch.randn(4, generator=gen)}},
                 "param_groups": [{"lr": 0.03, "momentum": 0.9, "dampening": 0, "weight_decay": 1e-4,
                                   "nesterov": False, "params": [0]}]}
    torch.save({"epoch": 800, "arch": "resnet50", "state_dict": state, "optimizer": optimizer}, path,
               _use_new_zipfile_serialization=False)


def moco_io(lpips, moco, gen):
    lp, mn = copy.deepcopy(lpips).double(), copy.deepcopy(moco).double().eval()
    io = {}
    u_hat = torch.rand([2, 3, 32, 32], generator=gen) * 2 - 1
    u = torch.rand([2, 3, 32, 32], generator=gen) * 2 - 1
    ud = u_hat.double().requires_grad_()
    loss = pr.moco_loss(mn, up256(ud), up256(u.double()))
    io.update({"moco.u_hat": u_hat, "moco.u": u, "moco.loss": loss.reshape(1).float(), "moco.grad": grad_of(loss, ud)[0]})
    latent = torch.randn([2, 8, 16], generator=gen)
    avg = 0.5 * torch.randn([8, 16], generator=gen)
    ud, ld = u_hat.double().requires_grad_(), latent.double().requires_grad_()
    y_hat, y256 = up256(ud), up256(u.double())
    terms = {"l2": pr.l2_loss(y_hat, y256), "lpips": lp(y_hat, y256), "w_norm": pr.w_norm_loss(ld, avg.double()),
             "moco": pr.moco_loss(mn, y_hat, y256)}
    total = 0.0
    for k in ("l2", "lpips", "w_norm", "moco"):  # coach.calc_loss's order
        total = total + terms[k] * MOCO_LAMBDAS[k]
        io[f"total_moco.loss_{k}"] = terms[k].reshape(1).float()
    # The input is the target (encoding), as train_psp's.
    io["total_moco.id_improve"] = pr.sim_improvement(lambda t: pr.moco_features(mn, t), y_hat, y256, y256).reshape(1).float()
    g_img, g_lat = grad_of(total, ud, ld)
    io.update({"total_moco.latent": latent, "total_moco.latent_avg": avg, "total_moco.loss": total.reshape(1).float(),
               "total_moco.grad_u_hat": g_img, "total_moco.grad_latent": g_lat})
    return io


def grad_of(loss, *xs):
    return [g.float() for g in torch.autograd.grad(loss, xs)]


def up256(u):
    return F.interpolate(u, size=(256, 256), mode="bilinear", align_corners=False)


def loss_io(lpips, facenet, gen):
    lp, fn = copy.deepcopy(lpips).double(), copy.deepcopy(facenet).double().eval()
    io = {}
    x = (torch.rand([2, 3, 40, 40], generator=gen) * 2 - 1)
    y = (torch.rand([2, 3, 40, 40], generator=gen) * 2 - 1)
    xd = x.double().requires_grad_()
    loss = lp(xd, y.double())
    io.update({"lpips.x": x, "lpips.y": y, "lpips.loss": loss.reshape(1).float(), "lpips.grad": grad_of(loss, xd)[0]})
    xd = x.double().requires_grad_()
    loss = pr.l2_loss(xd, y.double())
    io.update({"l2.loss": loss.reshape(1).float(), "l2.grad": grad_of(loss, xd)[0]})

    xg = torch.rand([2, 1, 40, 40], generator=gen) * 2 - 1
    yg = torch.rand([2, 1, 40, 40], generator=gen) * 2 - 1
    xd = xg.double().requires_grad_()
    loss = lp(pr.to_rgb(xd), pr.to_rgb(yg.double()))
    io.update({"lpips_grey.x": xg, "lpips_grey.y": yg, "lpips_grey.loss": loss.reshape(1).float(),
               "lpips_grey.grad": grad_of(loss, xd)[0]})

    u_hat = torch.rand([2, 3, 32, 32], generator=gen) * 2 - 1
    u = torch.rand([2, 3, 32, 32], generator=gen) * 2 - 1
    ud = u_hat.double().requires_grad_()
    loss = pr.id_loss(fn, up256(ud), up256(u.double()))
    io.update({"id.u_hat": u_hat, "id.u": u, "id.loss": loss.reshape(1).float(), "id.grad": grad_of(loss, ud)[0]})

    latent = torch.randn([2, 8, 16], generator=gen)
    avg = 0.5 * torch.randn([8, 16], generator=gen)
    ld = latent.double().requires_grad_()
    loss = pr.w_norm_loss(ld, avg.double())
    io.update({"w_norm.latent": latent, "w_norm.latent_avg": avg, "w_norm.loss": loss.reshape(1).float(),
               "w_norm.grad": grad_of(loss, ld)[0]})
    ld = latent.double().requires_grad_()
    loss = pr.w_norm_loss(ld)
    io.update({"w_norm.loss_no_avg": loss.reshape(1).float(), "w_norm.grad_no_avg": grad_of(loss, ld)[0]})

    # coach.calc_loss, in its order, on 256 px images.
    ud, ld = u_hat.double().requires_grad_(), latent.double().requires_grad_()
    y_hat, y256 = up256(ud), up256(u.double())
    terms = {"id": pr.id_loss(fn, y_hat, y256), "l2": pr.l2_loss(y_hat, y256), "lpips": lp(y_hat, y256),
             "lpips_crop": lp(pr.crop(y_hat), pr.crop(y256)), "l2_crop": pr.l2_loss(pr.crop(y_hat), pr.crop(y256)),
             "w_norm": pr.w_norm_loss(ld, avg.double())}
    total = 0.0
    for k in ("id", "l2", "lpips", "lpips_crop", "l2_crop", "w_norm"):
        total = total + terms[k] * LAMBDAS[k]
        io[f"total.loss_{k}"] = terms[k].reshape(1).float()
    io["total.id_improve"] = pr.sim_improvement(lambda t: pr.id_features(fn, t), y_hat, y256, y256).reshape(1).float()
    g_img, g_lat = grad_of(total, ud, ld)
    io.update({"total.loss": total.reshape(1).float(), "total.grad_u_hat": g_img, "total.grad_latent": g_lat})
    return io


# ---------------------------------------------------------------- optimizers

def ranger_step(params, state, lr, alpha=0.5, k=6, n_sma_threshold=5, betas=(0.95, 0.999), eps=1e-5):
    """One step of pSp's Ranger (training/ranger.py, use_gc=True, gc_conv_only=False, no weight decay)."""
    beta1, beta2 = betas
    for name, p in params.items():
        if p.grad is None:  # as training/ranger.py: a parameter the loss did not reach keeps its state
            continue
        grad = p.grad.clone()
        st = state.setdefault(name, {})
        if not st:
            st["step"] = 0
            st["exp_avg"] = torch.zeros_like(p)
            st["exp_avg_sq"] = torch.zeros_like(p)
            st["slow_buffer"] = p.detach().clone()
        if grad.dim() > 1:
            grad = grad - grad.mean(dim=tuple(range(1, grad.dim())), keepdim=True)
        st["step"] += 1
        t = st["step"]
        st["exp_avg_sq"] = st["exp_avg_sq"] * beta2 + (1 - beta2) * grad * grad
        st["exp_avg"] = st["exp_avg"] * beta1 + (1 - beta1) * grad
        beta2_t = beta2 ** t
        n_sma_max = 2 / (1 - beta2) - 1
        n_sma = n_sma_max - 2 * t * beta2_t / (1 - beta2_t)
        with torch.no_grad():
            if n_sma > n_sma_threshold:
                step_size = math.sqrt((1 - beta2_t) * (n_sma - 4) / (n_sma_max - 4) * (n_sma - 2) / n_sma * n_sma_max
                                      / (n_sma_max - 2)) / (1 - beta1 ** t)
                p -= step_size * lr * st["exp_avg"] / (st["exp_avg_sq"].sqrt() + eps)
            else:
                step_size = 1.0 / (1 - beta1 ** t)
                p -= step_size * lr * st["exp_avg"]
            if t % k == 0:
                st["slow_buffer"] += alpha * (p - st["slow_buffer"])
                p.copy_(st["slow_buffer"])


def optim_loss(params, a, c):
    total = 0
    for n, p in params.items():
        d = p - c[n]
        total = total + (a[n] * d * d).sum() + 0.25 * (d * d * d * d).sum()
    return total


def optim_io(gen):
    shapes = {"conv.weight": [3, 2, 3, 3], "fc.weight": [4, 5], "bias": [6]}
    init = {n: torch.randn(s, generator=gen, dtype=torch.float64) for n, s in shapes.items()}
    a = {n: 0.5 + 1.5 * torch.rand(s, generator=gen, dtype=torch.float64) for n, s in shapes.items()}
    c = {n: torch.randn(s, generator=gen, dtype=torch.float64) for n, s in shapes.items()}
    io = {}
    for n in shapes:
        io[f"init.{n}"], io[f"a.{n}"], io[f"c.{n}"] = init[n], a[n], c[n]
    for run, lr in (("ranger_default", 1e-4), ("ranger_fast", 0.05), ("adam_default", 1e-4), ("adam_fast", 0.05)):
        params = {n: init[n].clone().requires_grad_() for n in shapes}
        traj = {n: [] for n in shapes}
        state = {}
        adam = torch.optim.Adam(params.values(), lr=lr) if run.startswith("adam") else None
        for _ in range(20):
            for p in params.values():
                p.grad = None
            optim_loss(params, a, c).backward()
            if adam:
                adam.step()
            else:
                ranger_step(params, state, lr)
            for n in shapes:
                traj[n].append(params[n].detach().clone())
        for n in shapes:
            io[f"{run}.{n}"] = torch.stack(traj[n])
    return io


def main(out):
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(4100)
    torch.manual_seed(4101)
    pr.same_as_torchvision()
    lpips, facenet = small_lpips(gen), small_arcface(gen)
    with tempfile.TemporaryDirectory() as tmp:
        alex, lin = user_lpips_files(lpips, gen, tmp)
        assert cw.main(["import", lin, os.path.join(out, "psp_lpips.bin"), "--alexnet", alex]) == 0
        arc = os.path.join(tmp, "model_ir_se50.pth")
        torch.save(facenet.state_dict(), arc)
        assert cw.main(["import", arc, os.path.join(out, "psp_arcface.bin")]) == 0
    io = loss_io(lpips, facenet, gen)
    # MoCo from its own stream: the files above stay as they were before it.
    gen_moco = torch.Generator().manual_seed(4102)
    pr.resnet_same_as_torchvision()
    from torchvision.models import resnet50
    names = [[k, list(v.shape)] for k, v in resnet50().state_dict().items()
             if not k.startswith("fc.") and not k.endswith("num_batches_tracked")]
    with open(os.path.join(out, "resnet50_names.json"), "w") as f:
        json.dump({"resnet50": names}, f, indent=0)
        f.write("\n")
    moco = small_moco(gen_moco)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "moco_v2_800ep_pretrain.pth.tar")
        save_moco_checkpoint(moco, gen_moco, ckpt)
        assert cw.main(["import", ckpt, os.path.join(out, "psp_moco.bin")]) == 0
    io.update(moco_io(lpips, moco, gen_moco))
    write_safetensors(os.path.join(out, "psp_losses_io.bin"), io,
                      {"lambdas": json.dumps(LAMBDAS), "moco_lambdas": json.dumps(MOCO_LAMBDAS)})
    print("psp_losses_io: " + ", ".join(f"{k} {v.reshape(-1)[0].item():.6g}" for k, v in io.items() if "loss" in k))
    write_safetensors(os.path.join(out, "psp_optim_io.bin"), optim_io(gen))
    print("psp_optim_io: 4 runs of 20 steps")


if __name__ == "__main__":
    main(OUTDIR)
