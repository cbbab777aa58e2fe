"""The W-step's learning rate: lr * decay^k, never below the floor admm_lr_min; bad floors are refused."""
import pytest

from minadmm.errors import InputError
from minadmm.nn.model import lenet5
from minadmm.pruning import PruneConfig, run_admm

KEEP = {"conv1": 100, "conv2": 2000, "fc1": 3600, "fc2": 350}


def test_w_step_lr_decays_to_its_floor(mnist):
    X, y, Xt, yt = mnist
    cfg = PruneConfig(admm_iters=4, lr=1e-3, admm_lr_decay=0.5, admm_lr_min=3e-4)
    _, history = run_admm(lenet5(seed=0), (X[:200], y[:200], Xt[:100], yt[:100]), KEEP, cfg, log=lambda s: None)
    lrs = [row["lr"] for row in history if row["layer"] == "conv1"]
    assert lrs == pytest.approx([1e-3, 5e-4, 3e-4, 3e-4], rel=1e-12)


@pytest.mark.parametrize("floor", [-1e-5, 2e-3])
def test_lr_floor_outside_0_lr_is_refused(floor):
    with pytest.raises(InputError, match="admm_lr_min"):
        PruneConfig(lr=1e-3, admm_lr_min=floor)


@pytest.mark.parametrize("masked", [False, True])
def test_masked_w_step_trains_only_the_start_support(masked, mnist):
    """admm_masked: the W-step moves only the start model's non-zero weights (a round from a pruned model);
    without it the W-step is dense and pruned weights come back."""
    import numpy as np
    from minadmm.pruning.retrain import hard_prune
    X, y, Xt, yt = mnist
    model = lenet5(seed=0)
    masks = hard_prune(model, KEEP)
    before = {k: model.params[k].copy() for k in masks}
    cfg = PruneConfig(admm_iters=1, admm_masked=masked, weight_decay=5e-5)
    run_admm(model, (X[:200], y[:200], Xt[:100], yt[:100]), KEEP, cfg, log=lambda s: None)
    for k, mask in masks.items():
        W = model.params[k]
        assert np.all(W[mask] != before[k][mask])  # the kept weights trained
        assert np.any(W[~mask] != 0) != masked  # the pruned ones: zero exactly when masked
