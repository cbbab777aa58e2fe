"""An ADMM stage and a masked retraining, interrupted and resumed from their checkpoints, end bit for bit
where an uninterrupted run ends: weights, Z, U, rho, optimizer state and history."""
import numpy as np
import pytest

from minadmm.nn.model import lenet5
from minadmm.pruning import PruneConfig, hard_prune, retrain, run_admm
from minadmm.pruning.retrain import prune_to_set

KEEP = {"conv1": 100, "conv2": 2000, "fc1": 3600, "fc2": 350}


def small(mnist):
    X, y, Xt, yt = mnist
    return X[:600], y[:600], Xt[:200], yt[:200]


def interrupt_at(prefix):
    def log(msg):
        if msg.startswith(prefix):
            raise KeyboardInterrupt
    return log


def without_seconds(rows):
    return [{k: v for k, v in r.items() if k not in ("seconds", "samples_per_s")} for r in rows]


# shift: the W-step's augmentation draws from the checkpointed RNG too; budget: one budget over all layers
# bits: layers projected onto sparsity + levels; masked: from a pruned model, the W-step on its support
@pytest.mark.parametrize("shift,budget,bits,masked", [(0, 0, 0, False), (2, 0, 0, False), (0, 6050, 0, False),
                                                      (0, 0, 3, True)])
def test_admm_resumed_equals_uninterrupted(shift, budget, bits, masked, mnist, tmp_path):
    data = small(mnist)
    cfg = PruneConfig(admm_iters=3, rho_growth=1.5, admm_shift=shift, admm_keep=0.5,  # dropout: its RNG too
                      budget=budget, budget_floor=50 if budget else 0, quant_bits=bits, admm_masked=masked)

    def start():
        model = lenet5(seed=2)
        if masked:
            hard_prune(model, KEEP)
        return model
    full = start()
    state, history = run_admm(full, data, KEEP, cfg, log=lambda s: None)
    part = start()
    with pytest.raises(KeyboardInterrupt):
        run_admm(part, data, KEEP, cfg, out_dir=tmp_path, log=interrupt_at("ADMM 2/"))
    resumed = start()
    messages = []
    state2, history2 = run_admm(resumed, data, KEEP, cfg, out_dir=tmp_path, resume=True, log=messages.append)
    assert "after iteration 2" in messages[0]
    for k in full.params:
        np.testing.assert_array_equal(full.params[k], resumed.params[k], err_msg=k)
    for i in KEEP:
        np.testing.assert_array_equal(state.Z[i], state2.Z[i])
        np.testing.assert_array_equal(state.U[i], state2.U[i])
    assert state.rho == state2.rho and state.k == state2.k == 3 and state.l == state2.l
    assert without_seconds(history) == without_seconds(history2)


def test_masked_retraining_resumed_equals_uninterrupted(mnist, tmp_path):
    data = small(mnist)
    cfg = PruneConfig(retrain_epochs=3, retrain_keep=0.5, retrain_shift=1)
    models = []
    for out, log in ((None, lambda s: None), (tmp_path, interrupt_at("retrain 2/"))):
        m = lenet5(seed=3)
        masks = hard_prune(m, KEEP)
        if out is None:
            history = retrain(m, data, masks, cfg, log=log)
        else:
            with pytest.raises(KeyboardInterrupt):
                retrain(m, data, masks, cfg, out_dir=out, log=log)
        models.append(m)
    resumed = lenet5(seed=3)
    history2 = retrain(resumed, data, hard_prune(resumed, KEEP), cfg, out_dir=tmp_path, resume=True, log=lambda s: None)
    for k in models[0].params:
        np.testing.assert_array_equal(models[0].params[k], resumed.params[k], err_msg=k)
    assert without_seconds(history) == without_seconds(history2)
    assert [r["epoch"] for r in history2] == [1, 2, 3]


def test_quantized_retraining_resumed_equals_uninterrupted(mnist, tmp_path):
    """Scale-only retraining (quantized.CodeScaleAdam): the scales and their Adam moments are checkpointed."""
    data = small(mnist)
    cfg = PruneConfig(retrain_epochs=3, quant_bits={"conv2": 2, "fc1": 3})
    models = []
    for out, log in ((None, lambda s: None), (tmp_path, interrupt_at("retrain 2/"))):
        m = lenet5(seed=3)
        masks, scales = prune_to_set(m, KEEP, cfg)
        if out is None:
            history = retrain(m, data, masks, cfg, log=log, scales=scales)
        else:
            with pytest.raises(KeyboardInterrupt):
                retrain(m, data, masks, cfg, out_dir=out, log=log, scales=scales)
        models.append(m)
    resumed = lenet5(seed=3)
    masks, scales = prune_to_set(resumed, KEEP, cfg)
    history2 = retrain(resumed, data, masks, cfg, out_dir=tmp_path, resume=True, log=lambda s: None, scales=scales)
    for k in models[0].params:
        np.testing.assert_array_equal(models[0].params[k], resumed.params[k], err_msg=k)
    assert without_seconds(history) == without_seconds(history2)
    assert not np.array_equal(models[0].params["fc1.W"], models[1].params["fc1.W"])  # the scale did move


def test_checkpointed_seconds(tmp_path):
    """What earlier processes spent: one value per epoch, or per ADMM iteration k (whose rows repeat it per
    layer); 0 without a checkpoint."""
    from minadmm.train.records import checkpointed_seconds, save_checkpoint
    m = lenet5(seed=0)
    assert checkpointed_seconds(tmp_path / "none.npz") == 0.0
    save_checkpoint(tmp_path / "e.npz", m, meta={"history": [{"epoch": 1, "seconds": 2.5}, {"epoch": 2, "seconds": 4.0}]})
    assert checkpointed_seconds(tmp_path / "e.npz") == 6.5
    rows = [{"k": k, "layer": name, "seconds": s} for k, s in ((1, 3.0), (2, 5.0)) for name in KEEP]
    save_checkpoint(tmp_path / "a.npz", m, meta={"k": 2, "history": rows})
    assert checkpointed_seconds(tmp_path / "a.npz") == 8.0
