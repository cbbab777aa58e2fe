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
