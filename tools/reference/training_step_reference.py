"""What every family's PyTorch training-step reference shares (StyleGAN2-ADA in
tools/reference/stylegan2_training_reference.py; the PGGAN and StyleGAN v1 steps build
on the same pieces): named random draws replayed from or recorded to a draw
log (train/draw_log.h), the dataset as the official loaders give it, the real
minibatch and per-phase latents, one optimizer phase over data-parallel
replicas (gradients accumulated over passes, averaged, nan_to_num, Adam), the
lazy-regularization Adam options and the generator EMA.

Names of the draws, as ganforge's trainers log them: mb<K>/real_index (and the
derived mb<K>/real_xflip, mb<K>/r<R>/real_img, real_c), mb<K>/r<R>/<phase>/z
and c_item (derived c), then whatever the family's loss draws under
mb<K>/r<R>/<phase>/pass<P>/.
"""
import torch
import torch.nn.functional as F


class Draws:
    """The step's random numbers by name. With `log` (a dict name -> tensor)
    every draw is taken from it (shape checked, usage tracked); otherwise each is
    made fresh by the caller's function and, with `record` (a dict), kept."""

    def __init__(self, log=None, record=None, dtype=torch.float64):
        self.log, self.record, self.dtype, self.used = log, record, dtype, set()

    def take(self, name, shape, fresh):
        if self.log is not None:
            if name not in self.log:
                raise KeyError(f"draw log has no '{name}'")
            t = self.log[name]
            if list(t.shape) != list(shape):
                raise ValueError(f"draw '{name}' is {list(t.shape)}, the step needs {list(shape)}")
            self.used.add(name)
            return t.to(self.dtype) if t.is_floating_point() else t
        t = fresh()
        if self.record is not None:
            self.record[name] = t.detach().clone()
        return t.to(self.dtype)

    def derived(self, name, value):
        """A value the draws imply (images of the sampled items, labels):
        recorded beside them, as ganforge's draw log keeps it."""
        if self.record is not None:
            self.record[name] = value.detach().clone()

    def unused(self, prefix):
        """Logged draws under prefix that no step took."""
        return sorted(n for n in self.log if n.startswith(prefix) and n not in self.used) if self.log else []


class Dataset:
    """Images as the official dataset gives them: uint8 [N, C, H, W] pixels,
    integer labels (or None), and with xflip a mirrored copy of every image
    appended (item i >= N is image i - N flipped left-right)."""

    def __init__(self, pixels, labels=None, c_dim=0, xflip=False):
        self.pixels, self.labels, self.c_dim, self.xflip = pixels, labels, c_dim, xflip
        self.raw = pixels.shape[0]

    def __len__(self):
        return self.raw * (2 if self.xflip else 1)

    def images(self, items):
        img = self.pixels[[i % self.raw for i in items]].clone()
        for k, i in enumerate(items):
            if i >= self.raw:
                img[k] = img[k].flip(-1)
        return img.to(torch.float32) / 127.5 - 1  # float32 as the official loop converts

    def onehot(self, items):
        if not self.c_dim:
            return None
        lab = torch.as_tensor([int(self.labels[i % self.raw]) for i in items])
        return F.one_hot(lab, self.c_dim).to(torch.float32)


def lazy_adam_kwargs(lr, interval, betas=(0, 0.99)):
    """training_loop.py: a network regularized every `interval` minibatches
    takes lr * r and betas ** r, r = interval / (interval + 1)."""
    r = interval / (interval + 1)
    return dict(lr=lr * r, betas=tuple(b ** r for b in betas), eps=1e-8)


def ema_beta(ema_kimg, ema_rampup, cur_nimg, batch):
    """training_loop.py: half-life ema_kimg thousand images, shortened to
    cur_nimg * ema_rampup early on when a ramp-up is set."""
    ema_nimg = ema_kimg * 1000
    if ema_rampup is not None:
        ema_nimg = min(ema_nimg, cur_nimg * ema_rampup)
    return 0.5 ** (batch / max(ema_nimg, 1e-8))


def ema_update(G_ema, G, beta):
    """G_ema = lerp(G, G_ema, beta) on the parameters; buffers copied."""
    with torch.no_grad():
        for p_ema, p in zip(G_ema.parameters(), G.parameters()):
            p_ema.copy_(p.lerp(p_ema, beta))
        for b_ema, b in zip(G_ema.buffers(), G.buffers()):
            b_ema.copy_(b)


def real_minibatch(draws, ds, mb, batch, gpus, device, dtype):
    """The minibatch's reals: `batch` distinct items (as a walk through the
    official InfiniteSampler's permutation gives), replica r taking positions
    r, r + gpus, ...; returns [(images, labels or None)] per replica."""
    items = draws.take(mb + "real_index", [batch], lambda: torch.randperm(len(ds))[:batch].to(torch.float64))
    items = [int(i) for i in items.tolist()]
    draws.derived(mb + "real_xflip", torch.tensor([float(i >= ds.raw) for i in items], dtype=torch.float64))
    reals = []
    for r in range(gpus):
        mine = items[r::gpus]
        img, c = ds.images(mine), ds.onehot(mine)
        draws.derived(f"{mb}r{r}/real_img", img)
        if c is not None:
            draws.derived(f"{mb}r{r}/real_c", c)
        reals.append((img.to(device, dtype), c.to(device, dtype) if c is not None else None))
    return reals


def phase_latents(draws, scope, n, z_dim, ds, device, dtype):
    """A phase's z [n, z_dim] and gen_c (labels of n items drawn with
    replacement, or None), as the official loop draws them for every phase."""
    z = draws.take(scope + "z", [n, z_dim], lambda: torch.randn([n, z_dim], device=device)).to(device, dtype)
    if not ds.c_dim:
        return z, None
    items = draws.take(scope + "c_item", [n], lambda: torch.randint(len(ds), [n], dtype=torch.float64))
    c = ds.onehot([int(i) for i in items.tolist()])
    draws.derived(scope + "c", c)
    return z, c.to(device, dtype)


def optimizer_phase(phase, module, opt, gpus, run_replica, observer=None):
    """One optimizer phase over `gpus` data-parallel replicas of one module:
    run_replica(r) accumulates replica r's passes into the gradients (zeroed
    before each replica); the replicas' gradients are averaged (DDP's
    all-reduce), observer(phase, module), if given, sees them (and may change
    them), then nan_to_num (NaN to 0, +-inf to +-1e5) and opt.step()."""
    module.requires_grad_(True)
    total = None
    for r in range(gpus):
        opt.zero_grad(set_to_none=True)
        run_replica(r)
        grads = [p.grad.clone() if p.grad is not None else None for p in module.parameters()]
        total = grads if total is None else [a + b if a is not None else None for a, b in zip(total, grads)]
    for p, g in zip(module.parameters(), total):
        p.grad = g / gpus if g is not None else None
    module.requires_grad_(False)
    if observer is not None:
        observer(phase, module)
    for p in module.parameters():
        if p.grad is not None:
            torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
    opt.step()


def adam_state(opt, named):
    """name -> (step, exp_avg, exp_avg_sq) of the (name, parameter) pairs with state."""
    out = {}
    for name, p in named:
        if p in opt.state:
            st = opt.state[p]
            out[name] = (float(st["step"]), st["exp_avg"], st["exp_avg_sq"])
    return out


def set_adam_state(opt, named, state):
    """named: (name, parameter) pairs; state: name -> (step, exp_avg, exp_avg_sq)."""
    for name, p in named:
        step, m, v = state[name]
        opt.state[p] = dict(step=torch.tensor(float(step)), exp_avg=m.to(p).clone(), exp_avg_sq=v.to(p).clone())
