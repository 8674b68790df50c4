"""A PyTorch reference of the official StyleGAN2-ADA training step
(training/training_loop.py and training/loss.py of NVlabs/stylegan2-ada-pytorch,
with its adaptive discriminator augmentation), written from their semantics over the reference networks
of tools/reference/stylegan2_reference.py, for tests/test_step_parity.cpp (through
tools/fixtures/make_step_fixtures.py) and bench/torch_vs_ganforge.py.

One minibatch, as the official loop runs it:
- phases Gmain, Greg, Dmain, Dreg in that order; a regularization phase runs
  when batch_idx is a multiple of its interval (G_reg_interval, D_reg_interval)
  and its weight (pl_weight, r1_gamma) is nonzero; each phase's loss is scaled
  by its gain, the phase's interval (1 for the main phases);
- each phase: gradients of the phase's network only, summed over the passes
  of batch_gpu images, averaged over the data-parallel replicas, then
  nan_to_num (NaN to 0, +-inf to +-1e5) and one Adam step;
- Adam with the lazy-regularization adjustment: lr * r, betas ** r,
  r = interval / (interval + 1) (torch.optim.Adam itself);
- losses: non-saturating logistic; R1 = |grad of D's logits wrt the reals|^2
  weighted by gamma / 2; path length on the first batch / pl_batch_shrink
  latents, pl_mean moved by pl_decay, weighted by pl_weight; the official
  "img * 0" and "logits * 0" terms; style mixing with probability
  style_mixing_prob; w_avg tracked by every mapping call except the mixing one;
- with spec aug "ada", or "fixed" with augment_p > 0: every image D sees goes
  through the augmentation pipe first (official run_D; tools/reference/augment_reference.py,
  draws under "<pass scope>aug_fake/" and "aug_real/"); the signs of D's
  logits for reals (Dmain and Dreg) are summed, and with "ada" after every
  ada_interval-th minibatch p moves by sign(mean - ada_target) * batch *
  ada_interval / (ada_kimg * 1000), floored at 0, in float32;
- then G_ema = lerp(G, G_ema, beta), beta = 0.5 ** (batch / max(ema_nimg, 1e-8)),
  ema_nimg = min(ema_kimg * 1000, cur_nimg * ema_rampup) with a ramp-up, and
  G_ema's buffers copied from G; cur_nimg += batch, batch_idx += 1.

Data parallel as ganforge runs it: replica r takes minibatch positions
r, r + gpus, ... and its own draws, each replica tracks its own w_avg and
pl_mean during the minibatch, and, ganforge's one deviation from the official
code (README, "Training"), both are averaged over the replicas at its end (the
path-length mean only when a path-length phase ran).

Random draws come from a Draws object: replayed from a draw log (names as
train/draw_log.h and StyleGAN2Trainer::set_draw_log list them), or fresh from
torch (and then optionally recorded under those names). What is not
StyleGAN2's own (draws, dataset, real minibatch and latents, one optimizer
phase over replicas, lazy Adam, EMA) is tools/reference/training_step_reference.py,
which the PGGAN and StyleGAN v1 references share.
"""
import copy
import math

import numpy as np

import torch
import torch.nn.functional as F

import augment_reference as aref
import stylegan2_reference as ref
from training_step_reference import (Dataset, Draws, adam_state, ema_beta, ema_update,  # noqa: F401 (re-exported)
                                     lazy_adam_kwargs, optimizer_phase, phase_latents, real_minibatch, set_adam_state)

PHASES = ("Gmain", "Greg", "Dmain", "Dreg")


class TrainingStep:
    """The official training state and its minibatch step. spec: ganforge's
    TrainSpec as JSON (train/stylegan2/configs.h: batch, gpus, batch_gpu, lrate,
    gamma, ema_kimg, ema_rampup (0 = none), pl_weight, style_mixing,
    g_reg_interval, d_reg_interval); G_kwargs, D_kwargs: the networks'."""

    pl_batch_shrink, pl_decay = 2, 0.01

    def __init__(self, spec, G_kwargs, D_kwargs, dataset, dtype=torch.float64, device="cpu"):
        self.spec, self.ds, self.dtype, self.device = spec, dataset, dtype, device
        self.gpus = spec["gpus"]
        self.per_gpu = spec["batch"] // self.gpus
        self.pass_size = min(spec["batch_gpu"] or self.per_gpu, self.per_gpu)
        self.G = ref.Generator(**G_kwargs).to(device, dtype).requires_grad_(False)
        self.D = ref.Discriminator(**D_kwargs).to(device, dtype).requires_grad_(False)
        self.G_ema = copy.deepcopy(self.G)
        self.num_ws = self.G.synthesis.num_ws
        lr = spec["lrate"]
        self.G_opt = torch.optim.Adam(self.G.parameters(), **lazy_adam_kwargs(lr, spec["g_reg_interval"]))
        self.D_opt = torch.optim.Adam(self.D.parameters(), **lazy_adam_kwargs(lr, spec["d_reg_interval"]))
        self.pl_mean = [torch.zeros([], dtype=dtype, device=device) for _ in range(self.gpus)]
        self.w_avg = [self.G.mapping.w_avg.clone() for _ in range(self.gpus)]
        self.cur_nimg = self.batch_idx = 0
        # ADA (official training_loop.py: a pipe for 'ada', and for 'fixed' only with p > 0).
        aug = spec.get("aug", "noaug")
        self.augment_pipe = None
        if aug == "ada" or (aug == "fixed" and spec.get("augment_p", 0) > 0):
            self.augment_pipe = aref.AugmentPipeRef(p=spec.get("augment_p", 0.0), **aref.spec_kwargs(spec["augpipe"]))
        self.signs = [0.0, 0]  # real signs since the last adjustment: sum, count

    # ---- state

    def set_pl_mean(self, v):
        self.pl_mean = [torch.full([], float(v), dtype=self.dtype, device=self.device) for _ in range(self.gpus)]

    def sync_w_avg(self):
        """After loading weights into G: every replica starts from G's w_avg."""
        self.w_avg = [self.G.mapping.w_avg.clone() for _ in range(self.gpus)]

    set_adam_state = staticmethod(set_adam_state)
    adam_state = staticmethod(adam_state)

    # ---- the loss (official StyleGAN2Loss.accumulate_gradients), one pass

    def run_D(self, img, c, draws, scope, prefix):
        if self.augment_pipe is not None:
            def draw(name, shape, kind):
                return draws.take(scope + prefix + name, list(shape), lambda: aref.fresh_draw(name, shape, kind)).float()
            img = self.augment_pipe.forward(img, draw)
        return self.D(img, c)

    def report_real_signs(self, logits):
        self.signs[0] += float(logits.detach().sign().sum())
        self.signs[1] += logits.numel()

    def run_G(self, z, c, draws, scope):
        ws = self.G.mapping(z, c, update_w_avg=True)
        if self.spec["style_mixing"] > 0:
            def fresh_mix():
                return torch.tensor([float(torch.randint(1, self.num_ws, [])), float(torch.rand([]))],
                                    dtype=torch.float64)
            cutoff, coin = draws.take(scope + "mix", [2], fresh_mix).tolist()
            cutoff = int(cutoff) if coin < self.spec["style_mixing"] else self.num_ws
            z2 = draws.take(scope + "mix_z", list(z.shape), lambda: torch.randn(z.shape, device=z.device)).to(z)
            ws2 = self.G.mapping(z2, c)
            ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)

        def noise(layer, shape):
            return draws.take(scope + "noise/" + layer, shape, lambda: torch.randn(shape, device=ws.device)).to(ws)

        return self.G.synthesis(ws, noise_mode=noise), ws

    def accumulate(self, phase, real, real_c, z, c, gain, draws, scope, replica):
        if phase == "Gmain":
            img, _ = self.run_G(z, c, draws, scope)
            logits = self.run_D(img, c, draws, scope, "aug_fake/")
            F.softplus(-logits).mean().mul(gain).backward()
        elif phase == "Greg":
            n = z.shape[0] // self.pl_batch_shrink
            img, ws = self.run_G(z[:n], c[:n] if c is not None else None, draws, scope)
            noise = draws.take(scope + "pl_noise", list(img.shape),
                               lambda: torch.randn(img.shape, device=img.device)).to(img)
            noise = noise / math.sqrt(img.shape[2] * img.shape[3])
            pl_grads = torch.autograd.grad(outputs=[(img * noise).sum()], inputs=[ws], create_graph=True)[0]
            pl_lengths = pl_grads.square().sum(2).mean(1).sqrt()
            pl_mean = self.pl_mean[replica].lerp(pl_lengths.mean(), self.pl_decay)
            self.pl_mean[replica].copy_(pl_mean.detach())
            penalty = (pl_lengths - pl_mean).square()
            (img[:, 0, 0, 0] * 0 + penalty * self.spec["pl_weight"]).mean().mul(gain).backward()
        elif phase == "Dmain":
            img, _ = self.run_G(z, c, draws, scope)
            F.softplus(self.run_D(img, c, draws, scope, "aug_fake/")).mean().mul(gain).backward()
            real_logits = self.run_D(real.detach(), real_c, draws, scope, "aug_real/")
            self.report_real_signs(real_logits)
            (real_logits * 0 + F.softplus(-real_logits)).mean().mul(gain).backward()
        else:  # Dreg
            x = real.detach().requires_grad_(True)
            real_logits = self.run_D(x, real_c, draws, scope, "aug_real/")
            self.report_real_signs(real_logits)
            r1_grads = torch.autograd.grad(outputs=[real_logits.sum()], inputs=[x], create_graph=True)[0]
            penalty = r1_grads.square().sum([1, 2, 3])
            (real_logits * 0 + penalty * (self.spec["gamma"] / 2)).mean().mul(gain).backward()

    # ---- the minibatch (official training_loop)

    def phase_runs(self, phase):
        s = self.spec
        if phase == "Greg":
            return s["pl_weight"] != 0 and self.batch_idx % s["g_reg_interval"] == 0
        if phase == "Dreg":
            return s["gamma"] != 0 and self.batch_idx % s["d_reg_interval"] == 0
        return True

    def step(self, draws, observer=None):
        """One minibatch. observer(phase, module), if given, sees each phase's
        averaged gradients before nan_to_num (and may change them)."""
        s, n = self.spec, self.gpus
        mb = f"mb{self.batch_idx}/"
        reals = real_minibatch(draws, self.ds, mb, s["batch"], n, self.device, self.dtype)
        # A fresh z and gen_c for each of the four phases, whether or not it runs.
        latents = [[phase_latents(draws, f"{mb}r{r}/{phase}/", self.per_gpu, self.G.mapping.z_dim, self.ds,
                                  self.device, self.dtype) for phase in PHASES] for r in range(n)]

        gains = dict(Gmain=1, Greg=s["g_reg_interval"], Dmain=1, Dreg=s["d_reg_interval"])
        greg_ran = False
        for i, phase in enumerate(PHASES):
            if not self.phase_runs(phase):
                continue
            greg_ran |= phase == "Greg"

            def run_replica(r, i=i, phase=phase):
                self.G.mapping.w_avg.copy_(self.w_avg[r])  # each replica tracks its own during the minibatch
                (real, real_c), (z, c) = reals[r], latents[r][i]
                for k in range(self.per_gpu // self.pass_size):
                    rows = slice(k * self.pass_size, (k + 1) * self.pass_size)
                    self.accumulate(phase, real[rows], real_c[rows] if real_c is not None else None, z[rows],
                                    c[rows] if c is not None else None, gains[phase], draws,
                                    f"{mb}r{r}/{phase}/pass{k}/", r)
                self.w_avg[r] = self.G.mapping.w_avg.clone()

            module, opt = (self.G, self.G_opt) if phase.startswith("G") else (self.D, self.D_opt)
            optimizer_phase(phase, module, opt, n, run_replica, observer)

        # ganforge's data-parallel state: one w_avg and pl_mean for all replicas.
        w_avg = sum(self.w_avg) / n if n > 1 else self.w_avg[0]
        self.w_avg = [w_avg.clone() for _ in range(n)]
        self.G.mapping.w_avg.copy_(w_avg)
        if n > 1 and greg_ran:
            pl = sum(self.pl_mean) / n
            self.pl_mean = [pl.clone() for _ in range(n)]

        ema_update(self.G_ema, self.G, ema_beta(s["ema_kimg"], s["ema_rampup"] or None, self.cur_nimg, s["batch"]))
        self.cur_nimg += s["batch"]
        self.batch_idx += 1
        if s.get("aug", "noaug") == "ada" and self.batch_idx % s["ada_interval"] == 0:
            mean = self.signs[0] / self.signs[1]
            adjust = float(np.sign(mean - s["ada_target"])) * (s["batch"] * s["ada_interval"]) / (s["ada_kimg"] * 1000)
            p = self.augment_pipe.p + torch.tensor(adjust, dtype=torch.float32)  # float32, as the official buffer
            self.augment_pipe.p = torch.clamp(p, min=0)
            self.signs = [0.0, 0]
