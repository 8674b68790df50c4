#!/usr/bin/env python3
"""Writes tests/data/step_*.bin: training steps of the PyTorch references
(StyleGAN2-ADA: tools/stylegan2_training_reference.py; PGGAN:
tools/pggan_training_reference.py; StyleGAN v1:
tools/stylegan_training_reference.py) with every random draw, for
tests/test_step_parity.cpp, tests/test_pggan_step_parity.cpp and
tests/test_stylegan_step_parity.cpp, which replay
the draws in ganforge's trainers and compare (tests/step_parity.h).
--only NAME... writes only those fixtures.

StyleGAN2-ADA (step_uncond_mirror, step_cond_replicas, step_ada). Each case starts from a realistic state: networks with random weights (biases,
noise strengths and w_avg randomized too), trained by the reference for 16
minibatches (unrecorded draws), so that the Adam moments, G_ema, w_avg and the
path-length mean are those of a run; that state is rounded to float32 and
stored. Then two recorded minibatches: batch_idx 16, where every phase runs
(the intervals are the official 4 and 16), and 17, where only Gmain and Dmain
do. The reference runs in float64 from the float32 state and draws; its
results are rounded once.

Tensors of a network are packed into one flat tensor in the order the
metadata "layout" lists (JSON: G_state, D_state = every parameter and buffer as
state_dict() orders them; G_params, D_params = the parameters), each entry
[name, shape], so the file's header stays small. A file holds (float32 unless
noted):
  metadata: spec (ganforge TrainSpec JSON), G_kwargs, D_kwargs (the networks
    train.py would build for the spec), data (JSON: xflip, c_dim), start (JSON:
    cur_nimg, batch_idx, pl_mean), minibatches (JSON list), layout, poison
    (JSON list of {mb, phase, param, index, value}: gradient elements set to NaN
    or +-inf once the phase's gradients are averaged, before the cleaning),
  data/pixels [N, C, H, W] (whole numbers 0..255), data/labels [N],
  init/G [G_state], init/D [D_state]: the start; G_ema starts equal to G,
  init/G_opt/exp_avg_sq [G_params], init/G_opt/step (f64, one per parameter),
    and the same for D_opt; the first moments are irrelevant with beta1 = 0
    and start at zero,
  mb<K>/...: the draws, named as train/draw_log.h (float64 for indices and mixing),
  expect/mb<K>/grad/<phase> [G_params or D_params]: the phase's averaged
    gradient, before the poisoning and cleaning,
  expect/mb<K>/G, G_ema [G_params], expect/mb<K>/D [D_params],
  expect/mb<K>/w_avg [layout w_avg: G's, G_ema's],
  expect/mb<K>/G_opt/exp_avg_sq [G_params], G_opt/step (f64), and the same for
    D_opt; exp_avg is not stored: with beta1 = 0 it is the last phase's
    gradient after the poisoning and cleaning (asserted here),
  expect/mb<K>/pl_mean (f64 [1]),
  expect/mb<K>/augment_p (f64 [1], ADA cases: the float32 p after the
    minibatch; metadata start then holds augment_p too),
  expect/mb<K>/noise/<group> (f64, one per tensor of the group above, in its
    layout's order): max |c - b| of PyTorch's own float32 step c (from the
    same float32 state and draws) against the float64 reference b: the
    rounding float32 arithmetic alone causes in that tensor.

PGGAN (step_pggan_*). Each case starts from official-layout random networks
(tools/make_pggan_pickle.py: Gs = G plus a little noise), trained by the
reference for a few rounds (unrecorded draws) at a stable lod, rounded to
float32; then two recorded rounds (one step() of PGGANTrainer each,
minibatch_repeats times D_repeats D steps and a G step). The same layout and
noise conventions as above, with the official variable names in ganforge's
layouts (pggan_reference.to_ganforge), and:
  metadata: spec (ganforge PGGANSpec JSON), G_kwargs, D_kwargs (the official
    static kwargs), start (JSON: cur_nimg, prev_lod), minibatches (JSON list of
    the rounds' first image counts K, the draw log's mb<K>), rounds (JSON: the
    schedule of each round), poison ({mb, phase = "rep<i>/D<k>" or
    "rep<i>/G", ...}: the step is then skipped, as the official optimizer
    skips non-finite gradients),
  init/G, init/Gs [G_state], init/D [D_state]; init/<opt>/exp_avg_sq and
    step (one per parameter, 0 for a parameter without state: see
    tools/pggan_training_reference.py),
  expect/mb<K>/grad/rep<i>/D<k>, grad/rep<i>/G: each step's gradient,
  expect/mb<K>/G, Gs [G_params], D [D_params],
  expect/mb<K>/<opt>/exp_avg, exp_avg_sq, step for G_opt and D_opt (exp_avg
    stored: a skipped step keeps the previous one).

StyleGAN v1 (step_stylegan_*): the PGGAN layout above (make_progressive_case
writes both), over official-layout random networks
(tools/make_stylegan_pickle.py: G, D and an independent Gs), the names and
layouts of tools/stylegan_reference.py (= ganforge's), and:
  metadata: spec (ganforge StyleGANSpec JSON), G_kwargs, D_kwargs (the full
    official G_style / D_basic kwargs: dlatent_avg_beta, style_mixing_prob),
  expect/mb<K>/dlatent_avg [layout dlatent_avg: G's, Gs's].
The maker asserts that the recorded rounds mix styles, and for the stable
case also that some evaluation does not and that one mixes at a lod that
leaves layers out.
"""
import argparse
import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interrupts  # noqa: E402  (standard library only)
if __name__ == "__main__":
    interrupts.die_by_signals()  # Ctrl-C, SIGTERM: no traceback, exit status 128 + signal
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without PyTorch)
pydeps.require("make_step_fixtures", "numpy", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import make_pggan_pickle as mkp  # noqa: E402
import pggan_reference as pgref  # noqa: E402
import pggan_training_reference as pgtr  # noqa: E402
import make_stylegan_pickle as mksp  # noqa: E402
import stylegan_reference as sgref  # noqa: E402
import stylegan_training_reference as sgtr  # noqa: E402
import stylegan2_training_reference as tr  # noqa: E402
from golden_io import write_safetensors  # noqa: E402

WARMUP = 16


def tiny_spec(**over):
    """ganforge's 'tiny' config at 16x16 (train/stylegan2/configs.cpp) with
    smaller channels, a visible R1 weight and the official lazy intervals."""
    spec = dict(cfg="tiny", batch=4, gpus=1, batch_gpu=0, mbstd_group=2, channel_base=32, channel_max=8,
                mapping_layers=2, z_dim=8, w_dim=8, lrate=0.0025, gamma=1.0, ema_kimg=1.25, ema_rampup=0.05,
                pl_weight=2.0, style_mixing=0.9, conv_clamp=256, g_reg_interval=4, d_reg_interval=16, kimg=1.0)
    spec.update(over)
    return spec


CASES = {
    # Unconditional, mirrored data, one pass; three gradient elements poisoned;
    # a minibatch with every phase, then one with the main phases only.
    "step_uncond_mirror": dict(spec=tiny_spec(), c_dim=0, xflip=True, minibatches=2,
                               poison=[dict(mb=16, phase="Gmain", param="synthesis.b8.conv1.bias", index=[0, 1, 2],
                                            value=["nan", "inf", "-inf"]),
                                       dict(mb=16, phase="Dreg", param="b4.out.bias", index=[0], value=["-inf"])]),
    # Conditional (3 classes), two data-parallel replicas of 4 images, each in
    # two passes of 2 (accumulated gradients); every phase, then the main phases.
    # A path-length weight and mixing probability other than the configs' (and
    # the loss's defaults), so that the trainer must pass the spec's on.
    "step_cond_replicas": dict(spec=tiny_spec(batch=8, gpus=2, batch_gpu=2, pl_weight=1.5, style_mixing=0.5),
                               c_dim=3, xflip=False, minibatches=2,
                               poison=[]),
    # ADA with the official bgc pipe on RGB images: every image D sees (fakes
    # in Gmain and Dmain, reals in Dmain and R1) is augmented, with p around
    # 0.6 (its draws: "<pass scope>aug_fake/..." and "aug_real/..."). The
    # ADA interval of 2 ends with the second minibatch, so p moves there by
    # 4 x 2 / 1000 in the direction of the mean real sign against the target.
    "step_ada": dict(spec=tiny_spec(aug="ada", augpipe="bgc", augment_p=0.6, ada_target=0.6, ada_interval=2,
                                    ada_kimg=1.0),
                     c_dim=0, xflip=False, channels=3, minibatches=2, poison=[]),
}


def pggan_spec(**over):
    """ganforge's PGGANSpec (train/pggan/configs.h) at the official loss and
    Adam values, with tiny networks and a schedule of a few images."""
    sched = dict(lod_initial_resolution=4, lod_training_kimg=0.016, lod_transition_kimg=0.032, minibatch_base=4,
                 minibatch_dict={}, max_minibatch_per_gpu={}, G_lrate_base=0.001, G_lrate_dict={}, D_lrate_base=0.001,
                 D_lrate_dict={}, tick_kimg_base=0.016, tick_kimg_dict={}, num_gpus=1)
    sched.update(over.pop("sched", {}))
    spec = dict(cfg="tiny", fmap_base=16, fmap_decay=1.0, fmap_max=4, latent_size=4, fused_scale=True,
                mbstd_group_size=2, sched=sched, total_kimg=1.0, G_smoothing=0.999, D_repeats=1, minibatch_repeats=2,
                reset_opt_for_new_lod=True, mirror_augment=False, wgan_lambda=10.0, wgan_epsilon=0.001,
                wgan_target=1.0, cond_weight=1.0, adam_beta1=0.0, adam_beta2=0.99, adam_epsilon=1e-8)
    spec.update(over)
    return spec


PGGAN_CASES = {
    # 16x16 grayscale, unconditional, mirror augment, fused resampling convs,
    # the official G_smoothing. Warm-up rounds at the stable lod 1 (8x8; images
    # 46-62 of the schedule), then a round that enters the fade (lod 0.8667:
    # both optimizers reset, the 16x16 layers join) and one inside it (lod 0.6,
    # no reset); neither lod is a float32 number.
    "step_pggan_fade": dict(spec=pggan_spec(mirror_augment=True, sched=dict(lod_transition_kimg=0.030)), res=16,
                            channels=1, c_dim=0, start_nimg=50, warmup=2, rounds=2, poison=[]),
    # 16x16 RGB with 3 labels (AC-GAN terms), separate up/downscale layers, two
    # D steps per minibatch, a G_smoothing other than the official one; every
    # round at the stable lod 1 (the 16x16 layers idle: no gradient, no Adam
    # state). The first round's first G step has a NaN gradient: skipped.
    "step_pggan_stable_cond": dict(spec=pggan_spec(fused_scale=False, D_repeats=2, G_smoothing=0.9,
                                                   sched=dict(lod_training_kimg=0.064)),
                                   res=16, channels=3, c_dim=3, start_nimg=100, warmup=2, rounds=2,
                                   poison=[dict(mb=132, phase="rep0/G", param="8x8/Conv1/weight", index=[0],
                                                value=["nan"])]),
}


def stylegan_spec(**over):
    """ganforge's StyleGANSpec (train/stylegan/trainer.h) at the official loss,
    Adam and loop values (training_loop.py, loss.py), a schedule of a few images."""
    sched = dict(pggan_spec()["sched"])
    sched.update(over.pop("sched", {}))
    spec = dict(sched=sched, G_smoothing_kimg=10.0, D_repeats=1, minibatch_repeats=2, reset_opt_for_new_lod=True,
                r1_gamma=10.0, mirror_augment=False, adam_beta1=0.0, adam_beta2=0.99, adam_epsilon=1e-8)
    spec.update(over)
    return spec


# Tiny v1 networks at 16x16 (6 synthesis layers); the G_style training values
# (dlatent_avg_beta, style_mixing_prob) are the official ones unless a case says.
SG_G = dict(latent_size=8, dlatent_size=8, mapping_layers=2, mapping_fmaps=8, fmap_base=16, fmap_max=4)
SG_D = dict(fmap_base=16, fmap_max=4, mbstd_group_size=4)

STYLEGAN_CASES = {
    # Grayscale, unconditional, mirror augment, fused resampling convs, the
    # official G_smoothing_kimg, style mixing 0.9, dlatent_avg_beta 0.995.
    # Warm-up rounds at the stable lod 1, then a round that enters the fade
    # (lod 0.8667: both optimizers reset, the 16x16 layers join, mixing over
    # all 6 layers) and one inside it (lod 0.6).
    "step_stylegan_fade": dict(spec=stylegan_spec(mirror_augment=True, sched=dict(lod_transition_kimg=0.030)),
                               G=dict(SG_G, fused_scale=True), D=dict(SG_D, fused_scale=True),
                               res=16, channels=1, c_dim=0, start_nimg=50, warmup=2, rounds=2, poison=[]),
    # RGB with 3 labels (the mapping's label embedding, D's projection), two D
    # steps per minibatch, a stable lod 1 (4 of the 6 layers run: the mixing
    # crossover among the 4), style mixing 0.5, dlatent_avg_beta 0.9 and a
    # short G_smoothing_kimg (Gs moves visibly); the first round's first G
    # step has a NaN gradient: skipped, as the official optimizer skips it.
    "step_stylegan_stable_cond": dict(
        spec=stylegan_spec(D_repeats=2, G_smoothing_kimg=0.01, sched=dict(lod_training_kimg=0.064)),
        G=dict(SG_G, style_mixing_prob=0.5, dlatent_avg_beta=0.9), D=SG_D, partial=True,
        res=16, channels=3, c_dim=3, start_nimg=100, warmup=2, rounds=2,
        poison=[dict(mb=132, phase="rep0/G", param="G_synthesis/8x8/Conv1/weight", index=[0], value=["nan"])]),
}


def make_stylegan_case(name, case, seed):
    return make_progressive_case(name, case, seed, "stylegan")


def store_expect(out, e, want, got32, float64=()):
    """expect/mb<K>/<group> (float32, float64 for the groups named in float64)
    and expect/mb<K>/noise/<group>: per tensor, max |c - b| of the float32 run
    c against the float64 reference b."""
    for group, named in want.items():
        out[e + group] = pack([t for _, t in named], torch.float64 if group in float64 else torch.float32)
        out[e + "noise/" + group] = torch.tensor(
            [(t.double() - c.double()).abs().max().item() if t.numel() else 0.0
             for (_, t), (_, c) in zip(named, got32[group])], dtype=torch.float64)


def gf_named(d, to_gf=pgref.to_ganforge):
    """name -> TF-layout tensor as [(name, ganforge-layout tensor)]."""
    return [(n, torch.from_numpy(np.array(to_gf(n, t.detach().numpy()), order="C"))) for n, t in d.items()]


def progressive_results(rnd, grads, to_gf):
    """PGGAN's and StyleGAN v1's groups (TF-layout tensors turned by to_gf)."""
    out = {f"grad/{step}": gf_named(g, to_gf) for step, g in grads.items()}
    out["G"], out["Gs"], out["D"] = (gf_named(n.trainables, to_gf) for n in (rnd.G, rnd.Gs, rnd.D))
    for key, opt in (("G_opt", rnd.G_opt), ("D_opt", rnd.D_opt)):
        out[key + "/exp_avg"] = gf_named(opt.m, to_gf)
        out[key + "/exp_avg_sq"] = gf_named(opt.v, to_gf)
    return out


def pggan_networks(case, seed):
    """PGGAN's (G, D, Gs) as pgtr.Network, and the official static kwargs of G and D."""
    spec, res, ch, c_dim = case["spec"], case["res"], case["channels"], case["c_dim"]
    static = dict(num_channels=ch, resolution=res, label_size=c_dim, fmap_base=spec["fmap_base"],
                  fmap_decay=spec["fmap_decay"], fmap_max=spec["fmap_max"], latent_size=spec["latent_size"],
                  fused_scale=spec["fused_scale"])
    G_state, D_state, Gs_state = mkp.make_networks(static, seed, 0.0, spec["mbstd_group_size"])
    nets = [pgtr.Network(cls, dict(st["variables"]), st["static_kwargs"], torch.float64)
            for cls, st in ((pgref.G, G_state), (pgref.D, D_state), (pgref.G, Gs_state))]
    return nets, G_state["static_kwargs"], D_state["static_kwargs"]


def stylegan_networks(case, seed):
    """StyleGAN v1's (G, D, Gs): official-layout random variables
    (tools/make_stylegan_pickle.py; Gs its own), and the full official kwargs."""
    res, ch, c_dim = case["res"], case["channels"], case["c_dim"]
    g_kw = sgref._kwargs(sgref.G_DEFAULTS, dict(case["G"], num_channels=ch, resolution=res, label_size=c_dim))
    d_kw = sgref._kwargs(sgref.D_DEFAULTS, dict(case["D"], num_channels=ch, resolution=res, label_size=c_dim))
    _, (gv, dv, gsv) = mksp.make_networks(g_kw, d_kw, seed)
    nets = [sgtr.Network(cls, v, kw, torch.float64) for cls, v, kw in
            ((sgref.G, gv, g_kw), (sgref.D, dv, d_kw), (sgref.G, gsv, g_kw))]
    return nets, g_kw, d_kw


FAMILIES = {
    "pggan": dict(networks=pggan_networks, round=lambda spec, nets, ds: pgtr.TrainingRound(spec, *nets, ds),
                  to_gf=pgref.to_ganforge, extra=lambda rnd: {}),
    "stylegan": dict(networks=stylegan_networks,
                     round=lambda spec, nets, ds: sgtr.TrainingRound(spec, *nets, ds),
                     to_gf=sgref.to_ganforge,
                     extra=lambda rnd: {"dlatent_avg": [("G", rnd.G.net.v["dlatent_avg"].detach()),
                                                        ("Gs", rnd.Gs.net.v["dlatent_avg"].detach())]}),
}


def make_progressive_case(name, case, seed, family="pggan"):
    fam = FAMILIES[family]
    to_gf = fam["to_gf"]
    spec, res, ch, c_dim = case["spec"], case["res"], case["channels"], case["c_dim"]
    raw = 10
    gen = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, [raw, ch, res, res], generator=gen, dtype=torch.uint8)
    labels = torch.arange(raw) % c_dim if c_dim else None
    ds = tr.Dataset(pixels, labels, c_dim, False)
    nets, G_kwargs, D_kwargs = fam["networks"](case, seed)
    torch.manual_seed(seed)
    rnd = fam["round"](spec, nets, ds)
    rnd.cur_nimg = case["start_nimg"]
    for _ in range(case["warmup"]):
        rnd.step(tr.Draws())
    # The state rounded to float32, what ganforge holds; beta1 = 0: the first
    # moments are never read, and ganforge starts them at zero.
    with torch.no_grad():
        for net in (rnd.G, rnd.D, rnd.Gs):
            for t in net.net.v.values():
                t.copy_(t.float())
        for opt in (rnd.G_opt, rnd.D_opt):
            for n in opt.params:
                opt.m[n].zero_()
                opt.v[n].copy_(opt.v[n].float())

    def state(net):
        return [(n, torch.from_numpy(np.array(to_gf(n, t.detach().numpy()), order="C")))
                for n, t in net.net.v.items()]

    lay = dict(G_state=layout(state(rnd.G)), D_state=layout(state(rnd.D)),
               G_params=layout(gf_named(rnd.G.trainables, to_gf)), D_params=layout(gf_named(rnd.D.trainables, to_gf)))
    out = {"data/pixels": pixels.float(), "data/labels": (labels if labels is not None else torch.zeros(raw)).float(),
           "init/G": pack([t for _, t in state(rnd.G)]), "init/Gs": pack([t for _, t in state(rnd.Gs)]),
           "init/D": pack([t for _, t in state(rnd.D)])}
    for key, opt in (("G_opt", rnd.G_opt), ("D_opt", rnd.D_opt)):
        out[f"init/{key}/exp_avg_sq"] = pack([t for _, t in gf_named(opt.v, to_gf)])
        out[f"init/{key}/step"] = pack([torch.tensor(v) for v in opt.steps().values()], torch.float64)
    start = dict(cur_nimg=rnd.cur_nimg, prev_lod=rnd.prev_lod)
    extra = fam["extra"](rnd)
    if extra:
        lay.update({k: layout(v) for k, v in extra.items()})

    rnd32 = rnd.to(torch.float32)
    record, minibatches, rounds = {}, [], []
    for _ in range(case["rounds"]):
        mb = rnd.cur_nimg
        minibatches.append(mb)
        grads, grads32 = {}, {}

        def observer(into, mb=mb):
            def observe(step, g):
                into[step] = {n: t.clone() for n, t in g.items()}
                for pz in case["poison"]:
                    if pz["mb"] == mb and pz["phase"] == step:
                        flat = g[pz["param"]].view(-1)
                        for i, v in zip(pz["index"], pz["value"]):
                            # the TF layout's element that is ganforge's element i
                            idx = np.arange(flat.numel()).reshape(list(g[pz["param"]].shape))
                            j = int(np.asarray(to_gf(pz["param"], idx)).reshape(-1)[i])
                            flat[j] = float(v)
            return observe

        rounds.append(rnd.step(tr.Draws(record=record), observer(grads)))
        rnd32.step(tr.Draws(log=record, dtype=torch.float32), observer(grads32))
        want, got32 = progressive_results(rnd, grads, to_gf), progressive_results(rnd32, grads32, to_gf)
        want.update(fam["extra"](rnd))
        got32.update(fam["extra"](rnd32))
        e = f"expect/mb{mb}/"
        store_expect(out, e, want, got32)
        for key, opt in (("G_opt", rnd.G_opt), ("D_opt", rnd.D_opt)):
            out[e + key + "/step"] = pack([torch.tensor(v) for v in opt.steps().values()], torch.float64)
    out.update(record)
    if family == "stylegan":
        check_mixing(name, rnd, case, minibatches[0])
    meta = dict(spec=json.dumps(spec), G_kwargs=json.dumps(G_kwargs),
                D_kwargs=json.dumps(D_kwargs), data=json.dumps(dict(xflip=False, c_dim=c_dim)),
                start=json.dumps(start), minibatches=json.dumps(minibatches), rounds=json.dumps(rounds),
                layout=json.dumps(lay), poison=json.dumps(case["poison"]))
    return out, meta


def check_mixing(name, rnd, case, first_mb):
    """The recorded rounds must mix styles at least once; with case["partial"],
    also leave them unmixed at least once and mix at a lod that leaves layers
    out (where a crossover drawn over all layers would differ)."""
    rec = [m for m in rnd.mixing if int(m[0][2:].split("/")[0]) >= first_mb]
    mixed = [m for m in rec if m[1]]
    assert mixed, f"{name}: no mixing in {len(rec)} evaluations"
    if case.get("partial"):
        assert len(mixed) < len(rec), f"{name}: mixing in all {len(rec)} evaluations"
        assert any(m[3] < 2 * rnd.L - 2 for m in mixed), f"{name}: no mixing at a lod that leaves layers out"


def network_kwargs(spec, res, channels, c_dim):
    """What train.py builds for the spec (ganforge: make_trainer_setup)."""
    G = dict(z_dim=spec["z_dim"], c_dim=c_dim, w_dim=spec["w_dim"], img_resolution=res, img_channels=channels,
             mapping_layers=spec["mapping_layers"], channel_base=spec["channel_base"],
             channel_max=spec["channel_max"], conv_clamp=float(spec["conv_clamp"]))
    D = dict(c_dim=c_dim, img_resolution=res, img_channels=channels, channel_base=spec["channel_base"],
             channel_max=spec["channel_max"], conv_clamp=float(spec["conv_clamp"]),
             mbstd_group_size=spec["mbstd_group"])
    return G, D


def randomize(net, gen):
    with torch.no_grad():
        for name, t in net.state_dict().items():
            r = torch.randn(t.shape, generator=gen, dtype=t.dtype)
            if name.endswith("affine.bias"):
                t.copy_(1 + 0.3 * r)
            elif name.endswith(".bias") or name.endswith("noise_strength"):
                t.copy_(0.3 * r)
            elif name.endswith("w_avg"):
                t.copy_(0.5 * r)


def layout(named):
    return [[n, list(t.shape)] for n, t in named]


def pack(tensors, dtype=torch.float32):
    return torch.cat([t.detach().reshape(-1).to(dtype) for t in tensors]) if tensors else torch.zeros([0], dtype=dtype)


def results(step, grads):
    """What the tests compare after a minibatch: group -> [(name, tensor)] in
    the layout's order."""
    out = {f"grad/{phase}": named for phase, named in grads.items()}
    for key, m in (("G", step.G), ("G_ema", step.G_ema), ("D", step.D)):
        out[key] = [(n, p.detach()) for n, p in m.named_parameters()]
    out["w_avg"] = [("G", step.G.mapping.w_avg), ("G_ema", step.G_ema.mapping.w_avg)]
    for key, opt, m in (("G_opt", step.G_opt, step.G), ("D_opt", step.D_opt, step.D)):
        named = list(m.named_parameters())
        state = tr.TrainingStep.adam_state(opt, named)
        out[key + "/exp_avg_sq"] = [(n, state[n][2]) for n, _ in named]
    out["pl_mean"] = [("pl_mean", step.pl_mean[0].reshape([1]))]
    return out


def to_float32(step):
    """A float32 copy of a float64 reference state (parameters, buffers, Adam
    state, w_avg and pl_mean)."""
    s = copy.deepcopy(step)
    s.dtype = torch.float32
    for m in (s.G, s.D, s.G_ema):
        m.float()
    s.pl_mean = [p.float() for p in s.pl_mean]
    s.w_avg = [w.float() for w in s.w_avg]
    for opt in (s.G_opt, s.D_opt):
        for st in opt.state.values():
            st["exp_avg"], st["exp_avg_sq"] = st["exp_avg"].float(), st["exp_avg_sq"].float()
    return s


def round_state(step):
    """Rounds every float of the state to float32 (what ganforge holds)."""
    with torch.no_grad():
        for m in (step.G, step.G_ema, step.D):
            for t in m.state_dict().values():
                t.copy_(t.float())
        for opt in (step.G_opt, step.D_opt):
            for st in opt.state.values():
                st["exp_avg"].zero_()  # beta1 = 0: never read
                st["exp_avg_sq"].copy_(st["exp_avg_sq"].float())
        step.sync_w_avg()
        step.set_pl_mean(float(torch.tensor(float(step.pl_mean[0])).float()))


def make_case(name, case, seed):
    spec = case["spec"]
    res, channels, raw = 16, case.get("channels", 1), 10
    gen = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, [raw, channels, res, res], generator=gen, dtype=torch.uint8)
    labels = torch.arange(raw) % case["c_dim"] if case["c_dim"] else None
    ds = tr.Dataset(pixels, labels, case["c_dim"], case["xflip"])
    G_kwargs, D_kwargs = network_kwargs(spec, res, channels, case["c_dim"])

    torch.manual_seed(seed)
    step = tr.TrainingStep(spec, G_kwargs, D_kwargs, ds)
    randomize(step.G, gen)
    randomize(step.D, gen)
    step.G_ema.load_state_dict(step.G.state_dict())
    step.sync_w_avg()
    for _ in range(WARMUP):
        step.step(tr.Draws())
    round_state(step)
    step.G_ema.load_state_dict(step.G.state_dict())

    G_params, D_params = list(step.G.named_parameters()), list(step.D.named_parameters())
    lay = dict(G_state=layout(step.G.state_dict().items()), D_state=layout(step.D.state_dict().items()),
               G_params=layout(G_params), D_params=layout(D_params))
    out = {"data/pixels": pixels.float(), "data/labels": (labels if labels is not None else torch.zeros(raw)).float(),
           "init/G": pack(list(step.G.state_dict().values())), "init/D": pack(list(step.D.state_dict().values()))}

    def adam(prefix, opt, named):
        state = tr.TrainingStep.adam_state(opt, named)
        out[prefix + "/exp_avg_sq"] = pack([state[n][2] for n, _ in named])
        out[prefix + "/step"] = pack([torch.tensor(float(state[n][0])) for n, _ in named], torch.float64)
        return state

    adam("init/G_opt", step.G_opt, G_params)
    adam("init/D_opt", step.D_opt, D_params)
    w = step.G.mapping.w_avg.shape[0]
    lay.update(w_avg=[["G", [w]], ["G_ema", [w]]], pl_mean=[["pl_mean", [1]]])
    start = dict(cur_nimg=step.cur_nimg, batch_idx=step.batch_idx, pl_mean=float(step.pl_mean[0]))
    if step.augment_pipe is not None:
        assert step.signs == [0.0, 0], "the start must be at the end of an ADA interval"
        start["augment_p"] = float(step.augment_pipe.p)

    # PyTorch's own float32 step from the same state and draws: how far float32
    # arithmetic alone lands from the float64 reference, per tensor.
    step32 = to_float32(step)
    record = {}
    minibatches = []
    for _ in range(case["minibatches"]):
        mb = step.batch_idx
        minibatches.append(mb)
        grads, grads32, cleaned = {}, {}, {}

        def observer(into, mb=mb):
            def observe(phase, module):
                named = list(module.named_parameters())
                into[phase] = [(n, p.grad.clone()) for n, p in named]
                for pz in case["poison"]:
                    if pz["mb"] == mb and pz["phase"] == phase:
                        g = dict(named)[pz["param"]].grad.view(-1)
                        for i, v in zip(pz["index"], pz["value"]):
                            g[i] = float(v)
                if into is grads:
                    cleaned[phase[0]] = [torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5) for _, p in named]
            return observe

        step.step(tr.Draws(record=record), observer(grads))
        step32.step(tr.Draws(log=record, dtype=torch.float32), observer(grads32))
        want, got32 = results(step, grads), results(step32, grads32)
        e = f"expect/mb{mb}/"
        store_expect(out, e, want, got32, float64=("pl_mean",))
        if step.augment_pipe is not None:
            out[e + "augment_p"] = step.augment_pipe.p.double().reshape([1])
        for key, opt, named in (("G", step.G_opt, G_params), ("D", step.D_opt, D_params)):
            state = tr.TrainingStep.adam_state(opt, named)
            out[e + key + "_opt/step"] = pack([torch.tensor(float(state[n][0])) for n, _ in named], torch.float64)
            # beta1 = 0: the first moment is the last phase's cleaned gradient (not stored).
            assert all(torch.equal(state[n][1], g) for (n, _), g in zip(named, cleaned[key])), key
        for r in range(1, step.gpus):
            assert torch.equal(step.pl_mean[r], step.pl_mean[0])
    out.update(record)
    meta = dict(spec=json.dumps(spec), G_kwargs=json.dumps(G_kwargs), D_kwargs=json.dumps(D_kwargs),
                data=json.dumps(dict(xflip=case["xflip"], c_dim=case["c_dim"])), start=json.dumps(start),
                minibatches=json.dumps(minibatches), layout=json.dumps(lay), poison=json.dumps(case["poison"]))
    return out, meta


def main():
    p = pydeps.OneLineParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--outdir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data"))
    p.add_argument("--only", nargs="+", metavar="NAME", help="write only these fixtures")
    args = p.parse_args()
    torch.set_num_threads(1)  # the same bits on every machine
    makers = [(name, make_case, case, 2000 + i) for i, (name, case) in enumerate(CASES.items())]
    makers += [(name, make_progressive_case, case, 3000 + i) for i, (name, case) in enumerate(PGGAN_CASES.items())]
    makers += [(name, make_stylegan_case, case, 4000 + i) for i, (name, case) in enumerate(STYLEGAN_CASES.items())]
    unknown = set(args.only or []) - {m[0] for m in makers}
    if unknown:
        p.error(f"no fixture named {', '.join(sorted(unknown))}")
    total = 0
    for name, make, case, seed in makers:
        if args.only and name not in args.only:
            continue
        tensors, meta = make(name, case, seed)
        size = write_safetensors(os.path.join(args.outdir, name + ".bin"), tensors, meta)
        total += size
        print(f"{name}: {len(tensors)} tensors, {size} bytes")
    print(f"{total} bytes in all")


if __name__ == "__main__":
    main()
