#!/usr/bin/env python3
"""StyleGAN (v1)'s Linear Separability metric (NVlabs/stylegan,
metrics/linear_separability.py) from arrays, written from its semantics
(numpy, scikit-learn and the PGGAN reference), for tools/fixtures/make_ls_fixtures.py
and the C++ side's tests. Not a copy of the official code.

  box_downsample(images, resolution)     the official reduce to the classifiers' side:
                                         a block mean by side // resolution, only when larger
  classifier_logits(variables, kwargs, images)   PGGAN's D_paper (tools/reference/pggan_reference.py)
                                         at the network's lod, its output column 0: the logit
  pair_probabilities(logits)             softmax([logit, -logit]) in float32, as tf.nn.softmax
  prune(logits, keep)                    the `keep` most confident rows: sorted by -max
                                         probability, stable (ties keep their index order)
  targets(logits, kept)                  argmax of the probabilities (a tie [0.5, 0.5] is 0)
  fit_predict(x, targets)                sklearn.svm.LinearSVC() (its defaults) fit on the rows
                                         and predicting them; any exception: the targets
  count_matrix(pred, targets)            p[row][col] = mean(pred == row and target == col)
  conditional_entropy(p)                 H(target | prediction) in bits, float32 terms summed
                                         in float64 (the official code under NumPy 1.x)
  ls_scores(z, w, logits, keep)          {"ls_z", "ls_w"}: 2 ** the sum of the conditional
                                         entropies over attributes (columns of logits)

Run as a script it checks itself.
"""
import os
import sys
import warnings

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tools/: the shared helpers
sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), TOOLS, os.path.join(TOOLS, "reference")]
import pydeps  # noqa: E402  (standard library only: one line, not a traceback, without NumPy/PyTorch)
pydeps.require("linear_separability_reference", "numpy", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import pggan_reference as pgref  # noqa: E402

# The attributes by index, as the official classifier file names give them
# (celebahq-classifier-NN-<name>.pkl).
ATTRIBUTES = [
    "male", "smiling", "attractive", "wavy-hair", "young", "5-o-clock-shadow", "arched-eyebrows",
    "bags-under-eyes", "bald", "bangs", "big-lips", "big-nose", "black-hair", "blond-hair", "blurry",
    "brown-hair", "bushy-eyebrows", "chubby", "double-chin", "eyeglasses", "goatee", "gray-hair",
    "heavy-makeup", "high-cheekbones", "mouth-slightly-open", "mustache", "narrow-eyes", "no-beard",
    "oval-face", "pale-skin", "pointy-nose", "receding-hairline", "rosy-cheeks", "sideburns",
    "straight-hair", "wearing-earrings", "wearing-hat", "wearing-lipstick", "wearing-necklace",
    "wearing-necktie",
]
CLASSIFIER_NAMES = [f"{i:02d}-{a}" for i, a in enumerate(ATTRIBUTES)]


def require_sklearn(tool):
    """One line, not a traceback, when scikit-learn is missing (the forward and conversion need none)."""
    pydeps.require(tool, "sklearn")


# ---------------------------------------------------------------- classifiers

def box_downsample(images, resolution):
    """images [N, C, S, S] -> [N, C, S / f, S / f], f = S // resolution, by
    the mean of each f x f block (the official reshape and reduce_mean), when
    S > resolution; the images as they are otherwise."""
    side = images.shape[2]
    if side <= resolution:
        if side < resolution:
            raise ValueError(f"images of {side}x{side} are smaller than the classifiers' {resolution}x{resolution}")
        return images
    f = side // resolution
    n, c, h, w = images.shape
    return images.reshape(n, c, h // f, f, w // f, f).mean(dim=(3, 5))


def classifier_logits(variables, kwargs, images, dtype=torch.float64):
    """One classifier's logits [N] on images [N, 3, S, S] (S >= its
    resolution): box_downsample, then D_paper in `dtype` at its stored lod."""
    x = box_downsample(torch.as_tensor(images, dtype=dtype), kwargs["resolution"])
    lod = float(np.asarray(variables["lod"])) if "lod" in variables else 0.0
    scores, _ = pgref.D(variables, dtype=dtype, **kwargs)(x, lod)
    return scores[:, 0]


# ---------------------------------------------------------------- the metric

def pair_probabilities(logits):
    """[N] logits -> [N, 2] float32 softmax of [logit, -logit]: exp(v - max)
    over their sum, as tf.nn.softmax."""
    a = np.asarray(logits, dtype=np.float32)
    v = np.stack([a, -a], axis=1)
    e = np.exp(v - v.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def prune(logits, keep):
    """Indices of the `keep` rows with the largest max probability, most
    confident first; equal ones in index order (Python's sorted is stable)."""
    confidence = pair_probabilities(logits).max(axis=1)
    return np.argsort(-confidence, kind="stable")[:keep]


def targets(logits, kept):
    """The class of each kept row: argmax of its probabilities (the first on a tie)."""
    return np.argmax(pair_probabilities(logits)[kept], axis=1)


def fit_predict(x, t):
    """sklearn.svm.LinearSVC() with its defaults fit on rows x with labels t
    and asked for their predictions. -> dict(pred, decision, coef, intercept,
    failed, warnings): an exception (one class only) gives pred = t and zeros,
    as the official `except` assumes perfect prediction; warnings lists the
    fit's warnings (a ConvergenceWarning among them). liblinear draws its
    coordinate order from NumPy's global generator, as the official code let it."""
    import sklearn.svm  # noqa: E402  (only here: converting and the forward need no scikit-learn)
    x = np.asarray(x)
    out = dict(pred=np.asarray(t).copy(), decision=np.zeros(len(t)), coef=np.zeros(x.shape[1]),
               intercept=np.zeros(1), failed=True, warnings=[])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # dual=True: the default of the official's scikit-learn (1.3+'s "auto" picks the primal solver
            # for more rows than features, another solver than liblinear's dual one the metric ran).
            svm = sklearn.svm.LinearSVC(dual=True)
            svm.fit(x, t)
            pred = svm.predict(x)
            decision = svm.decision_function(x)
        except Exception:  # the official catches everything
            pass
        else:
            out.update(pred=pred, decision=decision, coef=svm.coef_[0].copy(), intercept=svm.intercept_.copy(),
                       failed=False)
    out["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
    return out


def count_matrix(pred, t):
    """[[mean(pred == r and t == c) for c in (0, 1)] for r in (0, 1)], float64."""
    pred, t = np.asarray(pred), np.asarray(t)
    return np.array([[np.mean((pred == r) & (t == c)) for c in (0, 1)] for r in (0, 1)], dtype=np.float64)


def _normalized(p):
    """The official prob_normalize: float32, over the float32 sum of all (row-major order)."""
    p = np.asarray(p, dtype=np.float32)
    total = np.float32(0)
    for v in p.reshape(-1):
        total = np.float32(total + v)
    return p / total


def entropy(p):
    """-sum p log2 p over p > 0: each term in float32, the sum in float64."""
    p = _normalized(p)
    h = 0.0
    for v in p.reshape(-1):
        if v > 0:
            h -= float(np.float32(v * np.log2(v)))
    return h


def mutual_information(p):
    p = _normalized(p)
    px = [np.float32(p[r, 0] + p[r, 1]) if p.shape[1] == 2 else np.float32(p[r].sum()) for r in range(p.shape[0])]
    py = [np.float32(p[0, c] + p[1, c]) if p.shape[0] == 2 else np.float32(p[:, c].sum()) for c in range(p.shape[1])]
    mi = 0.0
    for r in range(p.shape[0]):
        for c in range(p.shape[1]):
            v = p[r, c]
            if v > 0:
                mi += float(np.float32(v * np.log2(np.float32(v / np.float32(px[r] * py[c])))))
    return mi


def conditional_entropy(p):
    """H(axis 1 | axis 0) = max(0, H(marginal of axis 1) - I), in bits."""
    p = _normalized(p)
    y = np.array([[np.float32(p[0, c] + p[1, c]) for c in range(p.shape[1])]], dtype=np.float32)
    return max(0.0, entropy(y) - mutual_information(p))


def attribute_entropies(z, w, logits, keep):
    """Per attribute (column of logits [N, A]): the kept rows, targets, and
    for each space the fit_predict result and conditional entropy."""
    out = []
    for a in range(np.asarray(logits).shape[1]):
        col = np.asarray(logits)[:, a]
        kept = prune(col, keep)
        t = targets(col, kept)
        item = dict(kept=kept, targets=t)
        for space, x in (("z", z), ("w", w)):
            fit = fit_predict(np.asarray(x)[kept], t)
            item[space] = dict(fit, entropy=conditional_entropy(count_matrix(fit["pred"], t)))
        out.append(item)
    return out


def ls_scores(z, w, logits, keep):
    per = attribute_entropies(z, w, logits, keep)
    return {f"ls_{s}": float(2.0 ** np.sum(np.array([a[s]["entropy"] for a in per], dtype=np.float64)))
            for s in ("z", "w")}


def _self_check():
    # Counts: perfect prediction has no conditional entropy, independence all of H(target).
    assert conditional_entropy([[0.5, 0.0], [0.0, 0.5]]) == 0.0
    assert abs(conditional_entropy([[0.25, 0.25], [0.25, 0.25]]) - 1.0) < 1e-6
    assert conditional_entropy([[1.0, 0.0], [0.0, 0.0]]) == 0.0
    # The float32 terms as numpy evaluates the official expressions (float32 arrays, a float64 sum).
    rng = np.random.RandomState(1)
    for _ in range(200):
        p = rng.randint(0, 50, size=(2, 2)).astype(np.float64) / 100
        if p.sum() == 0:
            continue
        q = np.asarray(p, np.float32) / np.sum(np.asarray(p, np.float32))
        py = np.sum(q, axis=0, keepdims=True)
        pyn = py / np.sum(py)
        h = -sum(float(v * np.log2(v)) for v in pyn.reshape(-1) if v > 0)
        q2 = q / np.sum(q)  # normalized again by the mutual information
        px0, py0 = np.sum(q2, axis=1), np.sum(q2, axis=0)
        mi = sum(float(q2[r, c] * np.log2(q2[r, c] / (px0[r] * py0[c]))) for r in range(2) for c in range(2)
                 if q2[r, c] > 0)
        assert conditional_entropy(p) == max(0.0, h - mi), p
    # Pruning: ties keep index order; a zero logit is class 0.
    logits = np.array([0.0, -2.0, 2.0, 1.0, -1.0, 0.0], np.float32)
    assert list(prune(logits, 4)) == [1, 2, 3, 4]
    assert list(targets(logits, np.arange(6))) == [0, 1, 0, 0, 1, 0]
    # One class: the except path.
    fit = fit_predict(rng.standard_normal((10, 3)), np.zeros(10, np.int64))
    assert fit["failed"] and list(fit["pred"]) == [0] * 10
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float64).reshape(2, 3, 4, 4)
    assert torch.equal(box_downsample(x, 2)[0, 0], torch.tensor([[2.5, 4.5], [10.5, 12.5]], dtype=torch.float64))


if __name__ == "__main__":
    require_sklearn("linear_separability_reference")
    _self_check()
    print("linear_separability_reference: self-check passed")
