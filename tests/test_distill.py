"""Knowledge distillation (distill.py): the loss and its gradient, sharded gradients, masked retraining
keeping pruned weights at zero, and bad input."""
import json

import numpy as np
import pytest

from minadmm.cli import main
from minadmm.nn.distill import Distillation, check_distill, distillation_loss, teacher_probs
from minadmm.nn.layers import softmax_cross_entropy
from minadmm.nn.model import lenet5, save_model
from minadmm.train.parallel import GradientWorkers
from minadmm.pruning import PruneConfig, hard_prune, retrain

from test_layers import numeric_grad, rel_error


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def by_hand(s, y, t, alpha, T):
    """The module docstring's loss, written out term by term (float64)."""
    N = len(y)
    ce = -np.mean(np.log(softmax(s)[np.arange(N), y]))
    p, q = softmax(t / T), softmax(s / T)
    kl = np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=1))
    return (1 - alpha) * ce + alpha * T * T * kl


@pytest.mark.parametrize("alpha,T", [(0.5, 4.0), (1.0, 2.0), (0.3, 1.0)])
def test_loss_and_gradient(alpha, T, rng):
    s, t, y = rng.standard_normal((5, 7)) * 3, rng.standard_normal((5, 7)) * 3, rng.integers(0, 7, 5)
    p_T = softmax(t / T)
    loss, d = distillation_loss(s, y, p_T, alpha, T)
    assert loss == pytest.approx(by_hand(s, y, t, alpha, T), rel=1e-12)
    num = numeric_grad(lambda: by_hand(s, y, t, alpha, T), s)
    assert rel_error(d, num) < 1e-6


def test_alpha_zero_is_cross_entropy(rng):
    s, y = rng.standard_normal((4, 10)), rng.integers(0, 10, 4)
    loss, d = distillation_loss(s, y, softmax(rng.standard_normal((4, 10))), 0.0, 4.0)
    ce, dce = softmax_cross_entropy(s, y)
    assert loss == ce
    np.testing.assert_array_equal(d, dce)


def test_student_equal_to_teacher_feels_only_the_labels(rng):
    """When s = t the KL term is zero and so is its gradient: only (1 - alpha) of the label term is left."""
    s, y = rng.standard_normal((6, 10)), rng.integers(0, 10, 6)
    loss, d = distillation_loss(s, y, softmax(s / 3.0), 0.4, 3.0)
    ce, dce = softmax_cross_entropy(s, y)
    assert loss == pytest.approx(0.6 * ce, abs=1e-12)
    np.testing.assert_allclose(d, 0.6 * dce, atol=1e-15)


def test_sharded_distilled_gradient_equals_whole_batch(rng):
    m = lenet5(seed=2, keep=1.0, dtype=np.float64)
    teacher = lenet5(seed=5, keep=1.0, dtype=np.float64)
    X, y = rng.random((9, 1, 28, 28)), rng.integers(0, 10, 9)
    dist = Distillation(teacher, 0.7, 3.0, X)
    np.testing.assert_allclose(dist.P, teacher_probs(teacher, X, 3.0), rtol=1e-6)
    with GradientWorkers(m, 1) as gw:
        loss1, _ = gw.loss_and_grads(X, y, dist, dist.probs(np.arange(9), X))
    g1 = {k: v.copy() for k, v in m.grads.items()}
    with GradientWorkers(m, 3) as gw:
        loss3, _ = gw.loss_and_grads(X, y, dist, dist.probs(np.arange(9), X))
    assert loss1 == pytest.approx(loss3, rel=1e-6)  # p_T is float32
    for k in g1:
        np.testing.assert_allclose(m.grads[k], g1[k], rtol=1e-10, atol=1e-12)
    assert loss1 != pytest.approx(softmax_cross_entropy(m.forward(X), y)[0], rel=1e-3)  # the teacher counts


@pytest.mark.parametrize("shift", [0, 2])
def test_distilled_retraining_keeps_pruned_weights_zero(shift, mnist):
    X, y, Xt, yt = mnist
    data = (X[:400], y[:400], Xt[:200], yt[:200])
    teacher = lenet5(seed=0)
    model = lenet5(seed=1)
    masks = hard_prune(model, {"conv1": 100, "conv2": 2000, "fc1": 3600, "fc2": 350})
    before = {k: model.params[k].copy() for k in masks}
    cfg = PruneConfig(retrain_epochs=2, batch_size=50, distill=0.5, retrain_shift=shift)
    hist = retrain(model, data, masks, cfg, teacher=teacher, log=lambda s: None)
    assert len(hist) == 2
    for k, mask in masks.items():
        assert np.all(model.params[k][~mask] == 0)
        assert not np.array_equal(model.params[k][mask], before[k][mask])  # the kept weights did train


@pytest.mark.parametrize("alpha,T,message", [
    (1.5, 4.0, "alpha=1.5: expected a number in [0, 1]"),
    (-0.1, 4.0, "alpha=-0.1: expected a number in [0, 1]"),
    (0.5, 0.0, "T=0.0: expected a positive number"),
])
def test_bad_distillation_settings(alpha, T, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_distill(alpha, T)
    with pytest.raises(ValueError):
        PruneConfig(distill=alpha, distill_temp=T)


def test_retraining_with_distill_needs_a_teacher(mnist):
    X, y, Xt, yt = mnist
    model = lenet5(seed=1)
    masks = hard_prune(model, {"fc2": 350})
    with pytest.raises(ValueError, match="needs a teacher"):
        retrain(model, (X[:100], y[:100], Xt[:100], yt[:100]), masks, PruneConfig(distill=0.5), log=lambda s: None)


def test_quick_prune_with_distillation(tmp_path, mnist):
    """The CLI path: --distill with a --teacher file, recorded in run.json; retraining and the baseline run."""
    save_model(tmp_path / "teacher.npz", lenet5(seed=3))
    out = tmp_path / "run"
    assert main(["prune", "--preset", "lenet5-71x-one-round", "--quick", "--admm-iters", "1", "--w-epochs", "1", "--out", str(out),
                 "--distill", "0.5", "--distill-temp", "2", "--teacher", str(tmp_path / "teacher.npz")]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["distill"] == 0.5 and run["config"]["distill_temp"] == 2.0
    assert run["teacher"] == str(tmp_path / "teacher.npz")
    report = json.loads((out / "report.json").read_text())
    assert report["kept"] == 6050 and report["baseline_magnitude_acc"] is not None


def test_admm_w_step_with_distillation(mnist):
    """--distill-admm: the W-step learns from the teacher too (other weights than a plain W-step from the same
    start), needs a teacher, and needs distill > 0."""
    from minadmm.pruning import run_admm
    X, y, Xt, yt = mnist
    data = (X[:300], y[:300], Xt[:100], yt[:100])
    keep = {"fc2": 350}
    W = {}
    for distill_admm in (False, True):
        model = lenet5(seed=1)
        cfg = PruneConfig(admm_iters=1, distill=0.5, distill_admm=distill_admm)
        run_admm(model, data, keep, cfg, teacher=lenet5(seed=4), log=lambda s: None)
        W[distill_admm] = model.params["fc2.W"].copy()
    assert not np.allclose(W[False], W[True])
    with pytest.raises(ValueError, match="needs a teacher"):
        run_admm(lenet5(seed=1), data, keep, PruneConfig(admm_iters=1, distill=0.5, distill_admm=True),
                 log=lambda s: None)
    with pytest.raises(ValueError, match="distill_admm=True needs distill > 0"):
        PruneConfig(distill_admm=True)
