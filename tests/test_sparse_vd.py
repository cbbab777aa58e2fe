"""Sparse variational dropout (nn/variational.py, pruning/sparse_vd.py): log alpha, the KL approximation and
its gradients by hand and by finite differences, the layer's sampled output against the equation written out,
its gradients against finite differences, evaluation with the weights of large log alpha dropped, the
objective's KL weight and learning-rate schedule, and an interrupted round resumed bit for bit."""
import math

import numpy as np
import pytest

from conftest import central_difference
from minadmm.errors import InputError
from minadmm.nn import reference
from minadmm.nn.layers import Conv2D, Dense, Flatten, ReLU, softmax_cross_entropy
from minadmm.nn.model import Sequential, lenet5_relu
from minadmm.nn.variational import (K1, K2, K3, VariationalLayer, kl, kl_grad_log_alpha, kl_grads, log_alpha,
                                    sparse_weights, variational_model)
from minadmm.pruning.sparse_vd import SparseVDConfig, add_kl, run_sparse_vd


def test_log_alpha_by_hand():
    # log alpha = log sigma^2 - log(theta^2 + 1e-8): theta = 2, sigma^2 = 0.5 -> log(0.5 / 4)
    assert log_alpha(np.array([2.0]), np.array([math.log(0.5)]))[0] == pytest.approx(math.log(0.5 / (4 + 1e-8)), abs=1e-12)
    assert log_alpha(np.array([0.0]), np.array([-3.0]))[0] == pytest.approx(-3.0 - math.log(1e-8))


@pytest.mark.parametrize("la", [-4.0, -0.5, 0.0, 1.3, 6.0])
def test_kl_by_hand(la):
    """KL ~ k1 - k1 sigmoid(k2 + k3 la) + 0.5 log(1 + e^-la), written out with math (Molchanov et al., eq. 14)."""
    expected = 0.63576 - 0.63576 / (1 + math.exp(-(1.87320 + 1.48695 * la))) + 0.5 * math.log(1 + math.exp(-la))
    assert (K1, K2, K3) == (0.63576, 1.87320, 1.48695)
    assert kl(np.array([la])) == pytest.approx(expected, rel=1e-12)
    assert kl(np.array([la, la])) == pytest.approx(2 * expected, rel=1e-12)  # a sum over the weights


def test_kl_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    la = rng.uniform(-6, 6, 9)
    h = 1e-6
    num = np.array([(kl(la + h * e) - kl(la - h * e)) / (2 * h) for e in np.eye(9)])
    np.testing.assert_allclose(kl_grad_log_alpha(la), num, rtol=1e-6, atol=1e-9)
    theta, ls = rng.normal(0, 0.3, 7), rng.normal(-4, 1, 7)
    total, d_theta, d_ls = kl_grads(theta, ls)
    assert total == pytest.approx(kl(log_alpha(theta, ls)))
    f = lambda t, s: kl(log_alpha(t, s))  # noqa: E731
    num_t = np.array([(f(theta + h * e, ls) - f(theta - h * e, ls)) / (2 * h) for e in np.eye(7)])
    num_s = np.array([(f(theta, ls + h * e) - f(theta, ls - h * e)) / (2 * h) for e in np.eye(7)])
    np.testing.assert_allclose(d_theta, num_t, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(d_ls, num_s, rtol=1e-6, atol=1e-9)


def dense_vd(rng, n_in=6, n_out=4):
    layer = VariationalLayer(Dense(n_in, n_out, rng=1, dtype=np.float64), log_sigma2=-3.0, rng=7)
    layer.params["b"][...] = rng.normal(0, 0.1, n_out)
    layer.params["log_sigma2"][...] = rng.normal(-2, 1, layer.params["W"].shape)
    return layer


def test_dense_training_output_is_the_local_reparameterisation():
    rng = np.random.default_rng(1)
    layer, x = dense_vd(rng), rng.standard_normal((5, 6))
    y = layer.forward(x)
    eps = np.random.default_rng(7).standard_normal((5, 4))  # the layer's first draw
    theta, b, s2 = layer.params["W"], layer.params["b"], np.exp(layer.params["log_sigma2"])
    np.testing.assert_allclose(y, x @ theta + b + np.sqrt((x * x) @ s2 + 1e-8) * eps, rtol=1e-12)


def test_conv_training_output_is_the_local_reparameterisation():
    rng = np.random.default_rng(2)
    layer = VariationalLayer(Conv2D(2, 3, 3, rng=1, dtype=np.float64), rng=5)
    layer.params["b"][...] = rng.normal(0, 0.1, 3)
    layer.params["log_sigma2"][...] = rng.normal(-2, 1, layer.params["W"].shape)
    x = rng.standard_normal((2, 2, 6, 6))
    y = layer.forward(x)
    eps = np.random.default_rng(5).standard_normal(y.shape)
    mu = reference.conv2d_forward(x, layer.params["W"], layer.params["b"], 0)
    var = reference.conv2d_forward(x * x, np.exp(layer.params["log_sigma2"]), np.zeros(3), 0)
    np.testing.assert_allclose(y, mu + np.sqrt(var + 1e-8) * eps, rtol=1e-10)


def test_evaluation_drops_the_weights_of_large_log_alpha():
    rng = np.random.default_rng(3)
    layer, x = dense_vd(rng), rng.standard_normal((5, 6))
    theta = layer.params["W"]
    la = np.log(np.exp(layer.params["log_sigma2"])) - np.log(theta ** 2 + 1e-8)
    layer.threshold = float(np.median(la))  # half the weights dropped
    layer.training = False
    keep = la < layer.threshold
    assert 0 < keep.sum() < keep.size
    np.testing.assert_allclose(layer.forward(x), x @ (theta * keep) + layer.params["b"], rtol=1e-12)
    np.testing.assert_array_equal(layer.params["W"], theta)  # theta itself is untouched


def tiny_net():
    return Sequential([("conv1", Conv2D(1, 3, 3, rng=1, dtype=np.float64)), ("r", ReLU()),
                       ("conv2", Conv2D(3, 4, 3, rng=2, dtype=np.float64)), ("f", Flatten()),
                       ("fc1", Dense(64, 5, rng=3, dtype=np.float64)), ("r2", ReLU()),
                       ("fc2", Dense(5, 3, rng=4, dtype=np.float64))])


def test_gradients_of_the_objective_match_finite_differences():
    """d/dp [CE(f(x; theta, sigma^2, eps)) + c KL] for every parameter, the same eps in every evaluation."""
    rng = np.random.default_rng(0)
    m = variational_model(tiny_net())
    vd = [layer for _, layer in m.layers if isinstance(layer, VariationalLayer)]
    for layer in vd:
        layer.params["log_sigma2"][...] = rng.normal(-2, 0.5, layer.params["W"].shape)
    x, y, c = rng.standard_normal((4, 1, 8, 8)), np.array([0, 1, 2, 1]), 0.3
    m.train()

    def objective():
        for i, layer in enumerate(vd):
            layer.rng = np.random.default_rng(100 + i)
        return softmax_cross_entropy(m.forward(x), y)[0] + c * sum(layer.kl_grads()[0] for layer in vd)

    for i, layer in enumerate(vd):
        layer.rng = np.random.default_rng(100 + i)
    _, d = softmax_cross_entropy(m.forward(x), y)
    m.backward(d)
    add_kl(vd, c)
    grads = {k: v.copy() for k, v in m.grads.items()}
    for k, p in m.params.items():
        for idx in list(np.ndindex(p.shape))[::max(1, p.size // 6)]:
            assert grads[k][idx] == pytest.approx(central_difference(objective, p, idx), rel=1e-4, abs=1e-7), (k, idx)


def test_sparse_weights_and_the_eps_seeds():
    net = tiny_net()
    m = variational_model(net, log_sigma2=-20.0, seed=2)
    vd = [layer for _, layer in m.layers if isinstance(layer, VariationalLayer)]
    assert [layer.rng.bit_generator.state for layer in vd] == \
        [np.random.default_rng(2000 + i).bit_generator.state for i in range(4)]
    vd[0].params["log_sigma2"][0] = 50.0  # filter 0 of conv1: log alpha > 3
    out = tiny_net()
    kept = sparse_weights(m, out)
    assert not out["conv1"].params["W"][0].any() and kept["conv1"] == out["conv1"].params["W"][1:].size
    np.testing.assert_array_equal(out["conv1"].params["W"][1:], net["conv1"].params["W"][1:])
    np.testing.assert_array_equal(out["fc2"].params["W"], net["fc2"].params["W"])  # log alpha = -20 - log theta^2 < 3


def test_schedule_by_hand():
    cfg = SparseVDConfig(epochs=4, kl_ramp=2, lr=0.01)
    assert [cfg.kl_weight(e) for e in (1, 2, 3)] == [0.5, 1.0, 1.0]
    assert [cfg.lr_at(e) for e in (1, 2, 4)] == pytest.approx([0.01, 0.0075, 0.0025])
    assert SparseVDConfig(kl_ramp=0).kl_weight(1) == 1.0


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"batch_size": 2.5}, {"lr": 0}, {"kl_ramp": -1}, {"val": -5},
                                 {"threshold": float("nan")}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(InputError, match=next(iter(bad))):
        SparseVDConfig(**bad)
    with pytest.raises(InputError, match="valid settings are"):
        SparseVDConfig.from_dict({"epoch": 3})


def test_a_round_resumed_equals_uninterrupted(mnist, tmp_path):
    X, y, Xt, yt = mnist
    data = (X[:300], y[:300], Xt[:200], yt[:200])
    cfg = SparseVDConfig(epochs=2, kl_ramp=2, lr=3e-3, seed=1)
    full = lenet5_relu(seed=3)
    history = run_sparse_vd(full, data, cfg, log=lambda s: None)

    def interrupt(msg):
        if msg.startswith("sparse VD 1/"):
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        run_sparse_vd(lenet5_relu(seed=3), data, cfg, out_dir=tmp_path, log=interrupt)
    resumed, messages = lenet5_relu(seed=3), []
    history2 = run_sparse_vd(resumed, data, cfg, out_dir=tmp_path, resume=True, log=messages.append)
    assert "after epoch 1" in messages[0]
    for k in full.params:
        np.testing.assert_array_equal(full.params[k], resumed.params[k], err_msg=k)
    drop = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert drop(history) == drop(history2)
    assert [r["kl_weight"] for r in history] == [0.5, 1.0]
    assert history[-1]["kept"] == sum(int(np.count_nonzero(full[n].params["W"])) for n in full.weight_names())


def test_two_epochs_are_two_adam_steps_on_the_objective(mnist, tmp_path):
    """A round of two epochs of one batch: Adam steps at lr_e = lr (1 - (e - 1) / 2) on CE + w_e / N * KL,
    w_e = e / kl_ramp, with the data order and the eps draws the round's seed gives; theta, b and log sigma^2
    (from its checkpoint) as computed here."""
    from minadmm.nn.optim import Adam
    from minadmm.train.records import load_checkpoint
    X, y, Xt, yt = mnist
    N = 40
    data = (X[:N], y[:N], Xt[:50], yt[:50])
    cfg = SparseVDConfig(epochs=2, kl_ramp=4, lr=1e-3, batch_size=N, log_sigma2=-4.0, seed=5)
    run_sparse_vd(lenet5_relu(seed=3), data, cfg, out_dir=tmp_path, log=lambda s: None)
    start = lenet5_relu(seed=3)
    start.set_dropout(1.0)
    by_round = variational_model(start, seed=5)
    load_checkpoint(tmp_path / "sparse_vd_checkpoint.npz", by_round)

    m = variational_model(start, log_sigma2=-4.0, seed=5)
    vd = [layer for _, layer in m.layers if isinstance(layer, VariationalLayer)]
    opt, order_rng = Adam(m.params, lr=1e-3), np.random.default_rng(5)
    m.train()
    for e, (w, lr) in enumerate(((0.25, 1e-3), (0.5, 5e-4))):
        order = order_rng.permutation(N)
        _, d = softmax_cross_entropy(m.forward(X[order]), y[order])
        m.backward(d)
        add_kl(vd, w / N)
        opt.lr = lr
        opt.step(m.grads)
    for k in m.params:
        np.testing.assert_allclose(by_round.params[k], m.params[k], rtol=1e-6, atol=1e-9, err_msg=k)


def test_presets_with_a_sparse_vd_round(tmp_path, capsys):
    """A preset's sparse VD round: loaded as SparseVDConfig, a flag beside --preset sets --seed and --val in it
    too but the ADMM settings only in the ADMM rounds, --quick shortens it; a bad round is refused by name."""
    from minadmm.pipeline.presets import load_preset, load_round, override
    from minadmm.pruning.config import PruneConfig
    p = load_preset("lenet5-relu-250x-vd")
    assert [r.get("kind", "admm") for r in p["rounds"]] == ["sparse_vd", "admm"]
    assert isinstance(p["rounds"][0]["config"], SparseVDConfig) and isinstance(p["rounds"][1]["config"], PruneConfig)
    o = override(p, {"seed": 2, "lr": 5e-4, "val": 0}, quick=True)
    vd, admm = o["rounds"][0]["config"], o["rounds"][1]["config"]
    assert (vd.seed, vd.val, vd.lr, vd.epochs) == (2, 0, p["rounds"][0]["config"].lr, 2)
    assert (admm.seed, admm.val, admm.lr) == (2, 0, 5e-4)
    with pytest.raises(InputError, match="sparse_vd round has the keys"):
        load_round({"kind": "sparse_vd", "keep": {"fc1": 3}, "config": {}}, "test round")
    with pytest.raises(InputError, match="kind 'prune'"):
        load_round({"kind": "prune", "keep": {"fc1": 3}, "config": {}}, "test round")
    with pytest.raises(InputError, match="unknown setting 'epoch'"):
        load_round({"kind": "sparse_vd", "config": {"epoch": 3}}, "test round")
    from minadmm.cli import main
    assert main(["prune", "--preset", "lenet5-relu-250x-vd", "--keep", "fc1=10", "--out", str(tmp_path / "r")]) == 2
    assert "has 2 rounds with their own targets" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # refused before the run directory is made
    assert main(["presets"]) == 0


def test_a_recipe_of_sparse_vd_then_admm_runs_and_resumes(tmp_path, mnist):
    """A plan of a sparse VD round, then an ADMM round from its model: round 2 starts from round 1's model, is
    taught by the plan's dense model, and its baseline prunes round 1's model; a run interrupted in round 1
    resumes to the same report rows and model bits."""
    import json
    from minadmm.nn.model import load_model
    from minadmm.pipeline.run import make_plan, run_plan
    from minadmm.pruning import PruneConfig
    from conftest import ROOT
    X, y, Xt, yt = mnist
    data = (X[:350], y[:350], Xt[:200], yt[:200])
    dense = str(ROOT / "models" / "lenet5-relu-dense.npz")
    rounds = [{"kind": "sparse_vd", "config": SparseVDConfig(epochs=2, kl_ramp=1, val=100)},
              {"keep": {"conv1": 100, "conv2": 900, "fc1": 900, "fc2": 200},
               "config": PruneConfig(admm_iters=1, retrain_epochs=1, distill=0.5, admm_masked=True, val=100)}]
    plan = make_plan("lenet5_relu", rounds, dense)
    assert plan["rounds"][0] == {"kind": "sparse_vd", "config": SparseVDConfig(epochs=2, kl_ramp=1, val=100).__dict__}
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    report = run_plan(a, plan, data, log=lambda s: None)
    vd = json.loads((a / "round1" / "report.json").read_text())
    assert vd["kind"] == "sparse_vd" and set(vd["accuracy"]) == {"dense", "sparse_vd"}
    assert report["rounds"][0]["kind"] == "sparse_vd" and report["rounds"][0]["kept"] == vd["kept"]
    assert report["rounds"][0]["accuracy"] == vd["accuracy"]["sparse_vd"]
    assert report["rounds"][1]["kept"] == 2100 and report["rounds"][1]["baseline_acc"] is not None
    run2 = json.loads((a / "round2" / "run.json").read_text())
    assert run2["dense_from"] == str(a / "round1" / "model.npz") and run2["teacher"] == str(a / "round1" / "dense.npz")
    assert (a / "round1" / "dense.npz").read_bytes() != (a / "round1" / "model.npz").read_bytes()
    start = load_model(a / "round1" / "model.npz")
    final = load_model(a / "model.npz")
    for n in ("conv1", "conv2", "fc1", "fc2"):  # the masked W-step: the final support inside round 1's
        assert not (final[n].params["W"] != 0)[start[n].params["W"] == 0].any()
    assert "sparse variational dropout" in (a / "report.md").read_text()

    def interrupt(msg):
        if msg.startswith("sparse VD 1/"):
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        run_plan(b, plan, data, log=interrupt)
    resumed = run_plan(b, plan, data, resume=True, log=lambda s: None)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "minutes"} for r in rows]  # noqa: E731
    assert strip(resumed["rounds"]) == strip(report["rounds"])
    assert (b / "model.npz").read_bytes() == (a / "model.npz").read_bytes()
