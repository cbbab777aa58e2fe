import numpy as np

from minadmm.nn.layers import softmax_cross_entropy
from minadmm.nn.model import lenet5
from minadmm.train.parallel import GradientWorkers


def test_sharded_gradient_equals_whole_batch(rng):
    m = lenet5(seed=2, keep=1.0, dtype=np.float64)
    X, y = rng.random((11, 1, 28, 28)), rng.integers(0, 10, 11)
    loss1, d = softmax_cross_entropy(m.forward(X), y)
    m.backward(d)
    g1 = {k: v.copy() for k, v in m.grads.items()}
    with GradientWorkers(m, 3) as gw:
        loss3, logits = gw.loss_and_grads(X, y)
    assert logits.shape == (11, 10)
    assert abs(loss1 - loss3) < 1e-12
    for k in g1:
        np.testing.assert_allclose(m.grads[k], g1[k], rtol=1e-10, atol=1e-12)


def test_replica_shares_parameters_not_gradients():
    m = lenet5()
    r = m.replica()
    assert r.params["fc1.W"] is m.params["fc1.W"]
    assert r.grads["fc1.W"] is not m.grads["fc1.W"]


def test_blas_limit_is_held_only_while_the_workers_compute(rng):
    """OpenBLAS's thread count is process-wide: the workers set it to one only around a batch's gradient,
    so the rest of the process (here the W-step's hook, between gradient and step) keeps its own."""
    from threadpoolctl import threadpool_info

    from minadmm.nn.optim import Adam
    from minadmm.train.epochs import run_epoch

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    seen = []
    m = lenet5(seed=0)
    X, y = rng.random((20, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 20)
    run_epoch(m, Adam(m.params), X, y, 10, np.random.default_rng(0), grad_hook=lambda: seen.append(blas_threads()),
              workers=2)
    assert seen == [before, before] and blas_threads() == before
