# %% [markdown]
# # Tutorial 4: ADMM pruning of LeNet-5
#
# **Paper:** section 3 (the W-, Z- and U-steps), section 4 (LeNet-5 on MNIST, 71.2x). We run the three
# steps on the real network from `models/lenet5-dense.npz` with the paper's per-layer targets
# (conv1 100, conv2 2,000, fc1 3,600, fc2 350 weights), watch the primal residual `r = ||W - Z||` and the
# dual residual `s = rho ||Z - Z_prev||` per layer against Boyd's `eps_pri` / `eps_dual`, then hard-prune
# and retrain with the mask fixed. We do it twice: with a constant rho (the authors' first code) and with a
# rho that grows 1.5x per iteration (what their later code does, and minadmm's default).
#
# **You will see:** residual curves on a log axis, accuracy across ADMM iterations and retraining, and
# how the two rho schedules differ. Full mode: all of MNIST, 8 iterations and 4 retraining epochs per
# schedule. Quick mode: 6,000 training images, 3 iterations, 1 retraining epoch.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from minadmm.admm import u_step, w_step_penalty_grad, z_step
from minadmm.nn.model import load_model
from minadmm.report.plots import plot_residuals
from minadmm.pruning import PruneConfig, hard_prune, retrain, run_admm
from minadmm.pruning.targets import preset
from minadmm.tutorial import figure_dir, mnist_subset, quick, repo_file

data = mnist_subset(6000, 2000) if quick() else mnist_subset(None, None)
_, keep = preset("lenet5-71x")
dense_path = repo_file("models/lenet5-dense.npz")
print("targets l_i:", keep)

# %% [markdown]
# ## The three steps, once, by hand
# `Z^0 = Proj(W^0)`, `U^0 = 0`. The W-step adds `rho (W - Z + U)` to each layer's loss gradient; after it,
# `Z = Proj(W + U)` and `U = U + W - Z`. Here is one iteration on fc1 with a made-up W-step (a small
# random change of W), to see the shapes and the numbers.

# %%
W = load_model(dense_path)["fc1"].params["W"].copy()       # (800, 500)
l = keep["fc1"]
Z = z_step(W, np.zeros_like(W), l)                          # Z^0 = Proj(W^0)
U = np.zeros_like(W)                                         # U^0 = 0
print("penalty gradient at k=0, rho=1e-3: max |rho (W - Z + U)| =",
      f"{np.abs(w_step_penalty_grad(W, Z, U, 1e-3)).max():.2e}")
W1 = W + 1e-3 * np.random.default_rng(0).standard_normal(W.shape).astype(W.dtype)  # stand-in W-step
Z1 = z_step(W1, U, l)
U1 = u_step(U, W1, Z1)
print(f"non-zeros of Z1: {np.count_nonzero(Z1)} (l = {l});  r = ||W1 - Z1|| = {np.linalg.norm(W1 - Z1):.3f};  "
      f"||U1|| = {np.linalg.norm(U1):.3f}")

# %% [markdown]
# ## Two rho schedules on the whole network
# Same start, same data order, same number of W-step epochs; only rho differs.

# %%
iters = 3 if quick() else 8
retrain_epochs = 1 if quick() else 4
schedules = {"constant rho 1e-3": PruneConfig(admm_iters=iters, rho0=1e-3, rho_growth=1.0,
                                              retrain_epochs=retrain_epochs),
             "rho 1e-3 x1.5 per iteration": PruneConfig(admm_iters=iters, rho0=1e-3, rho_growth=1.5,
                                                        retrain_epochs=retrain_epochs)}
results = {}
for name, cfg in schedules.items():
    print(f"--- {name}")
    model = load_model(dense_path)
    _, admm_rows = run_admm(model, data, keep, cfg)
    acc_admm = model.accuracy(data[2], data[3])
    masks = hard_prune(model, keep)
    acc_hard = model.accuracy(data[2], data[3])
    retrain_rows = retrain(model, data, masks, cfg)
    results[name] = {"admm": admm_rows, "retrain": retrain_rows, "acc_admm": acc_admm, "acc_hard": acc_hard,
                     "acc_final": retrain_rows[-1]["test_acc"]}
    plot_residuals(admm_rows, figure_dir() / f"t4_residuals_{'constant' if cfg.rho_growth == 1 else 'growing'}.png",
                   title=f"ADMM residuals, {name}")
    print(f"accuracy: W after ADMM {acc_admm:.4f}, right after hard pruning {acc_hard:.4f}, "
          f"after masked retraining {results[name]['acc_final']:.4f}")

# %% [markdown]
# **What to notice in `t4_residuals_*.png`:** the primal residual `r` (blue) is the distance between the
# weights and their sparse copy; it must fall for hard pruning to cost little. With a constant small rho
# it stays large: the W-step barely feels the penalty. With a growing rho it falls by orders of magnitude
# while the dual residual `s` (orange), which measures how much the sparse support still moves, shrinks too.
#
# ## Primal residual and accuracy side by side

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for i, (name, res) in enumerate(results.items()):
    rows = res["admm"]
    for layer in keep:
        rr = [r for r in rows if r["layer"] == layer]
        axes[0].semilogy([r["k"] for r in rr], [r["r"] for r in rr], ["-", "--"][i] + "o", ms=3,
                         color=f"C{list(keep).index(layer)}", label=f"{layer}, {name}" if layer == "fc1" or i == 0 else None)
    ks = sorted({r["k"] for r in rows})
    acc = [next(r["test_acc"] for r in rows if r["k"] == k) for k in ks]
    n = len(ks)
    axes[1].plot(ks + [n + r["epoch"] for r in res["retrain"]],
                 [100 * a for a in acc] + [100 * r["test_acc"] for r in res["retrain"]], ["-", "--"][i] + "o",
                 ms=3, label=name)
    axes[1].axvline(n + 0.5, color="gray", lw=0.5)
axes[0].set_xlabel("ADMM iteration k")
axes[0].set_ylabel("primal residual ||W - Z||")
axes[0].legend(fontsize=6)
axes[1].set_xlabel("ADMM iteration, then retraining epoch (after the line)")
axes[1].set_ylabel("test accuracy (%)")
axes[1].legend(fontsize=7)
for a in axes:
    a.grid(True, which="both", alpha=0.3)
fig.tight_layout()
path = figure_dir() / "t4_rho_schedules.png"
fig.savefig(path, dpi=110)
print(f"wrote {path}")
for name, res in results.items():
    print(f"{name:30s} hard-prune drop {100 * (res['acc_admm'] - res['acc_hard']):5.2f} points, "
          f"final {100 * res['acc_final']:.2f}%")

# %% [markdown]
# **What to notice:** the smaller the primal residual at the end of ADMM, the less accuracy hard pruning
# destroys (the "hard-prune drop" printed above). After masked retraining the two schedules can end close
# together: in our full-mode run (docs/figures) the drop was 2.35 points with constant rho and 0.55 with the
# growing rho, and both ended near 98.9%. Tutorial 5 compares ADMM with pruning by magnitude.
