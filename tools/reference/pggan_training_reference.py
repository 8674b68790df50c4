"""A PyTorch reference of the official PGGAN training loop's round
(tkarras/progressive_growing_of_gans: train.py's train_progressive_gan,
loss.py's G_wgan_acgan and D_wgangp_acgan, tfutil.Optimizer over
tf.train.AdamOptimizer), written from their semantics over the reference
networks of tools/reference/pggan_reference.py, for tests/test_pggan_step_parity.cpp
(through tools/fixtures/make_step_fixtures.py).

One round, as the official loop runs it between two schedule evaluations:
- TrainingSchedule at cur_nimg: lod, resolution, minibatch, G and D learning
  rates (schedule() below); the lod is fed to the graph as float32 (lod_in);
- reset_opt_for_new_lod: both optimizers' state (moments and beta powers)
  reset when floor(lod) or ceil(lod) differs from the previous round's;
- minibatch_repeats times: D_repeats times a D step (then Gs = lerp(G, Gs,
  G_smoothing) on the trainables, then cur_nimg += minibatch), then a G step;
- D step: reals as process_reals makes them (the dataset's level floor(lod)
  images as dataset_tool.py stores them, mirrored where a uniform >= 0.5 with
  mirror_augment, to [-1, 1], faded towards their 2x2 box means by
  lod - floor(lod), nearest-upscaled by 2^floor(lod)) with their labels;
  fakes G(z, those labels); loss = D(fake) - D(real)
  + wgan_lambda / wgan_target^2 * (|grad D(mixed)| - wgan_target)^2
  + wgan_epsilon * D(real)^2 (+ AC-GAN cross-entropies of the real and fake
  label logits, times cond_weight), mixed = lerp(real, fake, eps) with one eps
  per sample; the mean over the minibatch, gradients of D's trainables;
- G step: z and labels of random dataset items; loss = -D(G(z, c))
  (+ cross-entropy of the fake label logits); gradients of G's trainables;
- a step whose gradients hold a NaN or an infinity is skipped (tfutil's
  grad_ok), else TensorFlow's Adam: t += 1 (one count per optimizer),
  m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2,
  w -= lr sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps).
Every variable gets a gradient in TensorFlow (zero for the layers the lod does
not reach); ganforge's Adam leaves a parameter without a gradient alone. The
two agree because a layer's use changes only where the lod crosses an integer,
which resets the state: the reference reports a per-parameter step count of
t for the parameters a nonzero gradient reached since the reset, 0 (no state)
for the others.

Draw names: PGGANTrainer::set_draw_log (train/pggan/trainer.h).
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

import pggan_reference as ref


def schedule(cur_nimg, resolution_log2, sched):
    """train.py's TrainingSchedule; sched: ganforge's ScheduleSpec as JSON
    (dict keys are resolutions as strings)."""
    kimg = cur_nimg / 1000.0
    tr, tt = sched["lod_training_kimg"], sched["lod_transition_kimg"]
    phase_dur = tr + tt
    phase_idx = int(np.floor(kimg / phase_dur)) if phase_dur > 0 else 0
    phase_kimg = kimg - phase_idx * phase_dur
    lod = resolution_log2 - np.floor(np.log2(sched["lod_initial_resolution"])) - phase_idx
    if tt > 0:
        lod -= max(phase_kimg - tr, 0.0) / tt
    lod = max(lod, 0.0)
    res = 2 ** (resolution_log2 - int(np.floor(lod)))
    mb = sched["minibatch_dict"].get(str(res), sched["minibatch_base"])
    mb -= mb % sched["num_gpus"]
    if str(res) in sched["max_minibatch_per_gpu"]:
        mb = min(mb, sched["max_minibatch_per_gpu"][str(res)] * sched["num_gpus"])
    return dict(lod=float(lod), resolution=res, minibatch=mb,
                G_lrate=sched["G_lrate_dict"].get(str(res), sched["G_lrate_base"]),
                D_lrate=sched["D_lrate_dict"].get(str(res), sched["D_lrate_base"]))


def level_images(pixels, level):
    """dataset_tool.py's lower-resolution copies: repeated float32 2x2 means,
    then rint and clip to 0..255 (as float64)."""
    x = pixels.to(torch.float32)
    for _ in range(level):
        x = (x[:, :, 0::2, 0::2] + x[:, :, 0::2, 1::2] + x[:, :, 1::2, 0::2] + x[:, :, 1::2, 1::2]) * 0.25
    return torch.round(x).clamp(0, 255).to(torch.float64)


def process_reals(pixels, lod):
    """train.py's process_reals after the mirror: [0, 255] -> [-1, 1], the fade
    towards the 2x2 box means by lod - floor(lod), the upscale by 2^floor(lod)."""
    x = pixels * (2 / 255) - 1
    s = x.shape
    y = x.reshape(s[0], s[1], s[2] // 2, 2, s[3] // 2, 2).mean(dim=[3, 5], keepdim=True)
    y = y.expand(-1, -1, -1, 2, -1, 2).reshape(s)
    x = ref.lerp(x, y, lod - math.floor(lod))
    return ref.upscale2d(x, 2 ** int(math.floor(lod)))


class TFAdam:
    """tf.train.AdamOptimizer as tfutil.Optimizer drives it (see above)."""

    def __init__(self, params, beta1, beta2, eps):
        self.params, self.beta1, self.beta2, self.eps = params, beta1, beta2, eps
        self.reset()

    def reset(self):
        self.t = 0
        self.m = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.v = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.touched = set()

    def step(self, grads, lr):
        """Applies the gradients (name -> tensor) unless one is not finite; -> applied."""
        if not all(bool(torch.isfinite(g).all()) for g in grads.values()):
            return False
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        lr_t = lr * math.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        with torch.no_grad():
            for n, p in self.params.items():
                g = grads[n]
                if bool((g != 0).any()):
                    self.touched.add(n)
                self.m[n] = b1 * self.m[n] + (1 - b1) * g
                self.v[n] = b2 * self.v[n] + (1 - b2) * g * g
                p.sub_(lr_t * self.m[n] / (self.v[n].sqrt() + self.eps))
        return True

    def steps(self):
        """Per-parameter step counts as ganforge keeps them (see above)."""
        return {n: float(self.t if n in self.touched else 0) for n in self.params}

    def to(self, params, dtype):
        out = TFAdam(params, self.beta1, self.beta2, self.eps)
        out.t, out.touched = self.t, set(self.touched)
        out.m = {n: m.to(dtype) for n, m in self.m.items()}
        out.v = {n: v.to(dtype) for n, v in self.v.items()}
        return out


class Network:
    """A reference network (ref.G or ref.D) over leaf tensors it owns: `v` maps
    each official variable name to its TF-layout tensor; trainables are all
    but 'lod'."""

    def __init__(self, cls, variables, static, dtype):
        self.cls, self.static = cls, dict(static)
        self.net = cls({k: np.asarray(a) for k, a in variables.items()}, dtype=dtype, **static)
        self.net.v = {k: t.clone() for k, t in self.net.v.items()}  # never a view of the arrays
        self.trainables = {k: t for k, t in self.net.v.items() if k != "lod"}

    def __call__(self, *args):
        return self.net(*args)

    def requires_grad_(self, on):
        for t in self.trainables.values():
            t.requires_grad_(on)
            t.grad = None

    def grads(self):
        return {n: (t.grad.detach().clone() if t.grad is not None else torch.zeros_like(t))
                for n, t in self.trainables.items()}

    def to(self, dtype):
        return Network(self.cls, {k: t.detach().to(dtype).numpy() for k, t in self.net.v.items()}, self.static, dtype)


def cross_entropy(labels, logits):
    """softmax_cross_entropy_with_logits(labels, logits) per row."""
    return -(labels * F.log_softmax(logits, dim=1)).sum(dim=1)


class TrainingRound:
    """The official training state and its round. spec: ganforge's PGGANSpec
    as JSON (train/pggan/configs.h); G, D, Gs: Network; ds: a
    training_step_reference.Dataset (no xflip: PGGAN mirrors per draw)."""

    def __init__(self, spec, G, D, Gs, ds, dtype=torch.float64):
        self.spec, self.G, self.D, self.Gs, self.ds, self.dtype = spec, G, D, Gs, ds, dtype
        self.L = int(np.log2(G.static["resolution"]))
        adam = (spec["adam_beta1"], spec["adam_beta2"], spec["adam_epsilon"])
        self.G_opt, self.D_opt = TFAdam(G.trainables, *adam), TFAdam(D.trainables, *adam)
        self.cur_nimg, self.prev_lod = 0, -1.0

    def to(self, dtype):
        """A copy of the whole state in another dtype (PyTorch's own float32 run)."""
        out = TrainingRound.__new__(TrainingRound)
        out.__dict__.update(self.__dict__)
        out.dtype = dtype
        out.G, out.D, out.Gs = self.G.to(dtype), self.D.to(dtype), self.Gs.to(dtype)
        out.G_opt, out.D_opt = self.G_opt.to(out.G.trainables, dtype), self.D_opt.to(out.D.trainables, dtype)
        return out

    def begin_round(self):
        """The round's schedule at cur_nimg, both optimizers reset when the
        lod's floor or ceiling changed (reset_opt_for_new_lod), and the lod the
        graph runs at (lod_in: a float32 placeholder) -> (schedule, lod)."""
        sp = self.spec
        s = schedule(self.cur_nimg, self.L, sp["sched"])
        if sp["reset_opt_for_new_lod"] and (math.floor(s["lod"]) != math.floor(self.prev_lod) or
                                            math.ceil(s["lod"]) != math.ceil(self.prev_lod)):
            self.G_opt.reset()
            self.D_opt.reset()
        self.prev_lod = s["lod"]
        return s, float(np.float32(s["lod"]))

    def d_inputs(self, draws, scope, n, lod):
        """A D step's reals (dataset items, mirrored per drawn uniform with
        mirror_augment, as process_reals makes them at lod), their one-hot
        labels (None without labels) and the latents z -> (reals, labels, z)."""
        ds, dt = self.ds, self.dtype
        items = draws.take(scope + "real_index", [n], lambda: torch.randperm(len(ds))[:n].to(torch.float64))
        items = [int(i) for i in items.tolist()]
        px = level_images(ds.pixels[items], int(math.floor(lod)))
        if self.spec["mirror_augment"]:
            u = draws.take(scope + "mirror_u", [n], lambda: torch.rand([n], dtype=torch.float64))
            for k in range(n):
                if float(u[k]) >= 0.5:  # official: keep where u < 0.5
                    px[k] = px[k].flip(-1)
        draws.derived(scope + "real_pixels", px)
        labels = ds.onehot(items)
        if labels is not None:
            draws.derived(scope + "real_c", labels)
            labels = labels.to(dt)
        return process_reals(px.to(dt), lod), labels, self.latents(draws, scope, n)

    def latents(self, draws, scope, n):
        """A step's latents z [n, latent_size] (standard normal)."""
        latent = self.G.static["latent_size"]
        return draws.take(scope + "z", [n, latent], lambda: torch.randn([n, latent]))

    def g_inputs(self, draws, scope, n):
        """A G step's latents z and the one-hot labels of random dataset items
        (None without labels) -> (z, labels)."""
        ds = self.ds
        z = self.latents(draws, scope, n)
        labels = None
        if ds.c_dim:
            items = draws.take(scope + "c_item", [n], lambda: torch.randint(len(ds), [n], dtype=torch.float64))
            labels = ds.onehot([int(i) for i in items.tolist()])
            draws.derived(scope + "c", labels)
            labels = labels.to(self.dtype)
        return z, labels

    def d_step(self, draws, scope, s, lod, observer):
        sp, n = self.spec, s["minibatch"]
        reals, labels, z = self.d_inputs(draws, scope, n, lod)
        eps = draws.take(scope + "gp_eps", [n, 1, 1, 1], lambda: torch.rand([n, 1, 1, 1]))

        self.G.requires_grad_(False)
        self.D.requires_grad_(True)
        with torch.no_grad():
            fakes = self.G(z, labels, lod)
        real_scores, real_logits = self.D(reals, lod)
        fake_scores, fake_logits = self.D(fakes, lod)
        loss = fake_scores - real_scores
        mixed = ref.lerp(reals, fakes, eps).detach().requires_grad_(True)
        mixed_scores, _ = self.D(mixed, lod)
        (mixed_grads,) = torch.autograd.grad(mixed_scores.sum(), [mixed], create_graph=True)
        mixed_norms = mixed_grads.square().sum(dim=[1, 2, 3]).sqrt().reshape(-1, 1)
        loss = loss + (mixed_norms - sp["wgan_target"]).square() * (sp["wgan_lambda"] / sp["wgan_target"] ** 2)
        loss = loss + real_scores.square() * sp["wgan_epsilon"]
        if labels is not None:
            loss = loss + ((cross_entropy(labels, real_logits) + cross_entropy(labels, fake_logits)) *
                           sp["cond_weight"]).reshape(-1, 1)
        loss.mean().backward()
        self.apply(observer, scope, self.D, self.D_opt, s["D_lrate"])

    def g_step(self, draws, scope, s, lod, observer):
        sp = self.spec
        z, labels = self.g_inputs(draws, scope, s["minibatch"])
        self.D.requires_grad_(False)
        self.G.requires_grad_(True)
        scores, logits = self.D(self.G(z, labels, lod), lod)
        loss = -scores
        if labels is not None:
            loss = loss + (cross_entropy(labels, logits) * sp["cond_weight"]).reshape(-1, 1)
        loss.mean().backward()
        self.apply(observer, scope, self.G, self.G_opt, s["G_lrate"])

    def apply(self, observer, scope, net, opt, lr):
        """The step's gradients: observer(step name, grads) may read and change
        them; then the optimizer (skipped when one is not finite)."""
        grads = net.grads()
        net.requires_grad_(False)
        if observer is not None:
            observer(scope.split("/", 1)[1].rstrip("/"), grads)
        opt.step(grads, lr)

    def step(self, draws, observer=None):
        """One round; observer(step, grads), if given, sees each D and G
        step's gradients (name -> tensor, TF layout) before the optimizer."""
        sp = self.spec
        s, lod = self.begin_round()
        mb = f"mb{self.cur_nimg}/"
        for r in range(sp["minibatch_repeats"]):
            for k in range(sp["D_repeats"]):
                self.d_step(draws, f"{mb}rep{r}/D{k}/", s, lod, observer)
                with torch.no_grad():
                    for n, p in self.Gs.trainables.items():
                        p.copy_(ref.lerp(self.G.trainables[n], p, sp["G_smoothing"]))
                self.cur_nimg += s["minibatch"]
            self.g_step(draws, f"{mb}rep{r}/G/", s, lod, observer)
        return s
