"""A PyTorch reference of the official StyleGAN (v1) training loop's round
(NVlabs/stylegan: training/training_loop.py, training/loss.py's
G_logistic_nonsaturating and D_logistic_simplegp, G_style in training mode
from training/networks_stylegan.py, dnnlib.tflib's Optimizer over
tf.train.AdamOptimizer), written from their semantics over the reference
networks of tools/reference/stylegan_reference.py, for
tests/test_stylegan_step_parity.cpp (through tools/fixtures/make_step_fixtures.py).
The schedule, the reals' processing and TensorFlow's Adam with its resets are
the same as PGGAN's (tools/reference/pggan_training_reference.py), reused from there.

One round, as the official loop runs it between two schedule evaluations:
- training_schedule at cur_nimg: lod, resolution, minibatch, learning rates;
  the lod is fed as float32 (lod_in) and assigned to G's and D's 'lod';
- reset_opt_for_new_lod: both optimizers reset when floor(lod) or ceil(lod)
  differs from the previous round's;
- minibatch_repeats times: D_repeats times (a D step together with the Gs
  update, then cur_nimg += minibatch), then a G step;
- Gs update (setup_as_moving_average_of): trainables lerp(G, Gs, Gs_beta) with
  Gs_beta = 0.5 ** (float32(minibatch) / (G_smoothing_kimg * 1000)) in
  float32; the other variables (dlatent_avg) copied from G. The official
  session runs the D step and this update together in no set order; the
  reference (and ganforge) copy dlatent_avg after the D step's update;
- G in training mode (both steps): w = mapping(z, labels); dlatent_avg =
  lerp(mean_n w, dlatent_avg, dlatent_avg_beta); style mixing: u, second
  latents z2 (always drawn), and with u < style_mixing_prob a crossover
  1 + floor(v (cur_layers - 1)), cur_layers = num_layers - 2 int(lod), else
  cur_layers; layers below the crossover take w, the others mapping(z2);
  random noise for every layer that runs; no truncation;
- D step: reals as process_reals makes them (mirror per drawn uniform with
  mirror_augment) with their labels; fakes G(z, those labels) (no gradient to
  G); loss = softplus(D(fake)) + softplus(-D(real)) + r1_gamma / 2 *
  |dD(real)/dreal|^2 per sample, every step; the mean; D's gradients;
- G step: z and the labels of random dataset items; loss =
  softplus(-D(G(z))); the mean; G's gradients;
- a step whose gradients hold a NaN or an infinity is skipped (tflib's
  grad_ok), else TensorFlow's Adam.

Draw names: StyleGANTrainer::set_draw_log (train/stylegan/trainer.h).
"""
import math
import re

import numpy as np
import torch
import torch.nn.functional as F

import pggan_training_reference as pgtr
import stylegan_reference as ref

TFAdam = pgtr.TFAdam

_NOT_TRAINABLE = re.compile(r"^(lod|dlatent_avg|G_synthesis/lod|G_synthesis/noise\d+)$")


class Network(pgtr.Network):
    """pgtr.Network over a v1 network; trainables are the official trainable
    variables (not lod, dlatent_avg or the noise inputs)."""

    def __init__(self, cls, variables, static, dtype):
        super().__init__(cls, variables, static, dtype)
        self.trainables = {k: t for k, t in self.net.v.items() if not _NOT_TRAINABLE.match(k)}

    def to(self, dtype):
        return Network(self.cls, {k: t.detach().to(dtype).numpy() for k, t in self.net.v.items()}, self.static, dtype)


class TrainingRound:
    """The official training state and its round. spec: ganforge's StyleGANSpec
    as JSON (train/stylegan/trainer.h) with G_kwargs (the official G_style
    kwargs: dlatent_avg_beta, style_mixing_prob); G, D, Gs: Network; ds: a
    training_step_reference.Dataset (no xflip: v1 mirrors per draw)."""

    def __init__(self, spec, G, D, Gs, ds, dtype=torch.float64):
        self.spec, self.G, self.D, self.Gs, self.ds, self.dtype = spec, G, D, Gs, ds, dtype
        self.L = int(np.log2(G.static["resolution"]))
        self.kw = ref._kwargs(ref.G_DEFAULTS, G.static)
        adam = (spec["adam_beta1"], spec["adam_beta2"], spec["adam_epsilon"])
        self.G_opt, self.D_opt = TFAdam(G.trainables, *adam), TFAdam(D.trainables, *adam)
        self.cur_nimg, self.prev_lod = 0, -1.0
        self.mixing = []  # (scope, u < prob, crossover, cur_layers) per G evaluation, for the fixture maker's checks

    def to(self, dtype):
        """A copy of the whole state in another dtype (PyTorch's own float32 run)."""
        out = TrainingRound.__new__(TrainingRound)
        out.__dict__.update(self.__dict__)
        out.dtype, out.mixing = dtype, []
        out.G, out.D, out.Gs = self.G.to(dtype), self.D.to(dtype), self.Gs.to(dtype)
        out.G_opt, out.D_opt = self.G_opt.to(out.G.trainables, dtype), self.D_opt.to(out.D.trainables, dtype)
        return out

    def g_train(self, draws, scope, z, labels, lod):
        """G_style with is_training: the images, dlatent_avg updated."""
        G, kw, n = self.G.net, self.kw, z.shape[0]
        num_layers = G.num_layers
        w = G.mapping(z, labels)
        ws = w[:, None].repeat(1, num_layers, 1)
        if kw["dlatent_avg_beta"] is not None and kw["dlatent_avg_beta"] != 1:
            with torch.no_grad():
                avg = G.v["dlatent_avg"]
                avg.copy_(ref.lerp(w.detach().mean(dim=0), avg, kw["dlatent_avg_beta"]))
        cur_layers = num_layers - int(lod) * 2  # tf.cast(lod_in, tf.int32): towards zero
        prob = kw["style_mixing_prob"]
        if prob is not None and prob > 0:
            u = float(draws.take(scope + "mix_u", [1], lambda: torch.rand([1], dtype=torch.float64)))
            z2 = draws.take(scope + "mix_z", [n, z.shape[1]], lambda: torch.randn([n, z.shape[1]]))
            v = float(draws.take(scope + "mix_v", [1], lambda: torch.rand([1], dtype=torch.float64)))
            # tf.random_uniform([], 1, cur_layers, int32): uniform over 1 .. cur_layers - 1.
            cutoff = 1 + int(math.floor(v * (cur_layers - 1))) if u < prob else cur_layers
            self.mixing.append((scope, u < prob, cutoff, cur_layers))
            ws2 = G.mapping(z2, labels)[:, None].repeat(1, num_layers, 1)
            idx = torch.arange(num_layers).reshape(1, -1, 1)
            ws = torch.where(idx < cutoff, ws, ws2)
        # The recursive structure runs the layers below cur_layers; each draws its noise.
        noise = {}
        if kw["use_noise"]:
            for i in range(cur_layers):
                r = 2 ** (i // 2 + 2)
                noise[i] = draws.take(scope + f"noise/noise{i}", [n, 1, r, r], lambda: torch.randn([n, 1, r, r]))
        return G.synthesis(ws, lod, noise)

    def d_step(self, draws, scope, s, lod, observer):
        sp = self.spec
        reals, labels, z = self.d_inputs(draws, scope, s["minibatch"], lod)

        self.G.requires_grad_(False)
        self.D.requires_grad_(True)
        with torch.no_grad():
            fakes = self.g_train(draws, scope, z, labels, lod)
        reals = reals.detach().requires_grad_(True)
        real_scores = self.D(reals, labels, lod)
        fake_scores = self.D(fakes, labels, lod)
        loss = F.softplus(fake_scores) + F.softplus(-real_scores)
        if sp["r1_gamma"] != 0:
            (real_grads,) = torch.autograd.grad(real_scores.sum(), [reals], create_graph=True)
            r1 = real_grads.square().sum(dim=[1, 2, 3])
            loss = loss + (r1 * (sp["r1_gamma"] * 0.5)).reshape(-1, 1)
        loss.mean().backward()
        self.apply(observer, scope, self.D, self.D_opt, s["D_lrate"])

    def g_step(self, draws, scope, s, lod, observer):
        z, labels = self.g_inputs(draws, scope, s["minibatch"])
        self.D.requires_grad_(False)
        self.G.requires_grad_(True)
        scores = self.D(self.g_train(draws, scope, z, labels, lod), labels, lod)
        F.softplus(-scores).mean().backward()
        self.apply(observer, scope, self.G, self.G_opt, s["G_lrate"])

    # The round's start, the D and G steps' inputs and the optimizer step are PGGAN's.
    begin_round = pgtr.TrainingRound.begin_round
    d_inputs = pgtr.TrainingRound.d_inputs
    latents = pgtr.TrainingRound.latents
    g_inputs = pgtr.TrainingRound.g_inputs
    apply = pgtr.TrainingRound.apply

    def gs_beta(self, minibatch):
        k = self.spec["G_smoothing_kimg"]
        if k <= 0:
            return 0.0
        return float(np.float32(0.5) ** (np.float32(minibatch) / np.float32(k * 1000.0)))

    def step(self, draws, observer=None):
        """One round; observer(step, grads), if given, sees each D and G
        step's gradients (name -> tensor, TF layout) before the optimizer."""
        sp = self.spec
        s, lod = self.begin_round()
        beta = self.gs_beta(s["minibatch"])
        mb = f"mb{self.cur_nimg}/"
        for r in range(sp["minibatch_repeats"]):
            for k in range(sp["D_repeats"]):
                self.d_step(draws, f"{mb}rep{r}/D{k}/", s, lod, observer)
                with torch.no_grad():
                    for n, p in self.Gs.net.v.items():
                        src = self.G.net.v[n]
                        p.copy_(ref.lerp(src, p, beta) if n in self.Gs.trainables else src)
                self.cur_nimg += s["minibatch"]
            self.g_step(draws, f"{mb}rep{r}/G/", s, lod, observer)
        return s
