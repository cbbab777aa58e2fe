# %% [markdown]
# # Tutorial 4: ADMM pruning of LeNet-5
#
# **Paper:** section 3 (the W-, Z- and U-steps), section 4 (LeNet-5 on MNIST, 71.2x). We run the three
# steps on the real network from `models/lenet5-dense.npz` with the paper's per-layer targets
# (conv1 100, conv2 2,000, fc1 3,600, fc2 350 weights), watch the primal residual `r = ||W - Z||` and the
# dual residual `s = rho ||Z - Z_prev||` per layer against Boyd's `eps_pri` / `eps_dual`, then hard-prune
# and retrain with the mask fixed. We do it three times: with a constant rho (as the authors' first code),
# with a rho that grows 1.5x per iteration (their later code grows it 1.3x), and with rho set by the
# residuals (Boyd's residual balancing) while the W-step's learning rate decays, stopping as soon as every
# layer meets Boyd's criterion. Last, the committed run of a recipe that converges in every layer on the whole
# training set, beside the fixed schedule that made `models/lenet5-relu-admm-71x.npz`.
#
# **You will see:** residual curves on a log axis, accuracy across ADMM iterations and retraining, and
# how the rho schedules differ. Full mode: 30,000 training images (half of MNIST's, to keep the three runs
# near ten minutes on 2 cores) and the whole test set, 8 iterations (the third schedule: up to 30, until it
# converges) and 4 retraining epochs per schedule. Quick mode: 2,000 training images, 3 iterations,
# 1 retraining epoch.

# %%
import matplotlib.pyplot as plt
import numpy as np

from minadmm.admm import u_step, w_step_penalty_grad, z_step
from minadmm.nn.model import load_model
from minadmm.report.plots import plot_residuals
from minadmm.report.report import convergence
from minadmm.pruning import PruneConfig, hard_prune, retrain, run_admm
from minadmm.pruning.targets import PAPER_LENET5
from minadmm.tutorial import mnist_subset, quick, repo_file, savefig

data = mnist_subset(2000, 1000) if quick() else mnist_subset(30000, None)
keep = {layer: kept for layer, (_, kept) in PAPER_LENET5.items()}
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
# ## Three rho schedules on the whole network
# Same start, same data order, one W-step epoch per iteration; only rho (and, in the third, the W-step's
# learning rate) differs. Residual balancing (Boyd et al. 2011, section 3.4.1) sets each layer's rho from
# its own residuals after every iteration:
#
#     rho <- 2 rho  if r > 10 s,      rho <- rho / 2  if s > 10 r,      U <- U rho_old / rho_new
#
# and Boyd's stopping rule ends ADMM once every layer has `r <= eps_pri` and `s <= eps_dual`, with
# `eps_pri = sqrt(n) 1e-4 + 1e-2 max(||W||, ||Z||)` and `eps_dual = sqrt(n) 1e-4 + 1e-2 ||rho U||`. The
# W-step is an epoch of Adam, a noisy solver: its noise alone keeps `Z` moving, so `s` cannot fall below
# it unless the learning rate falls too (here 0.8x per iteration).

# %%
iters = 3 if quick() else 8
retrain_epochs = 1 if quick() else 4
boyd = {"eps_abs": 1e-4, "eps_rel": 1e-2}
schedules = {"constant rho 1e-3": PruneConfig(admm_iters=iters, rho0=1e-3, rho_growth=1.0,
                                              retrain_epochs=retrain_epochs, **boyd),
             "rho 1e-3 x1.5 per iteration": PruneConfig(admm_iters=iters, rho0=1e-3, rho_growth=1.5,
                                                        retrain_epochs=retrain_epochs, **boyd),
             "residual balancing, lr x0.8, Boyd's stop": PruneConfig(
                 admm_iters=3 if quick() else 30, rho_schedule="balanced", rho0=1e-3, admm_lr_decay=0.8,
                 early_stop=True, retrain_epochs=retrain_epochs, **boyd)}
figure_names = dict(zip(schedules, ["t4_residuals_constant", "t4_residuals_growing", "t4_residuals_balanced"]))
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
    results[name]["seconds"] = sum(r["seconds"] for r in admm_rows if r["layer"] == "conv1")
    savefig(plot_residuals(admm_rows, title=f"ADMM residuals, {name}"), figure_names[name])
    print(f"accuracy: W after ADMM {acc_admm:.4f}, right after hard pruning {acc_hard:.4f}, "
          f"after masked retraining {results[name]['acc_final']:.4f}")

# %% [markdown]
# **Reading the residual plots:** the primal residual `r` (blue) is the distance between the weights and
# their sparse copy; it must fall for hard pruning to cost little. The dual residual `s` (orange) measures how
# much `Z` still moves, times rho: it grows with rho even when the support settles. Boyd's stopping rule
# asks for `r <= eps_pri` and `s <= eps_dual` (dashed). What this run shows, per layer:

# %%
def trend(rows, layer, key):
    v = [r[key] for r in rows if r["layer"] == layer]
    return v[0], v[-1]


for name, res in results.items():
    print(f"--- {name}: {max(r['k'] for r in res['admm'])} iterations, {res['seconds']:.0f} s of ADMM")
    for layer, c in convergence(res["admm"]).items():
        print(f"{layer:6s} Boyd's criterion (r <= eps_pri and s <= eps_dual) "
              + (f"first met at iteration {c['converged_at']}" if c["converged_at"] else "never met")
              + (", met at the end" if c["met_at_end"] else ", not met at the end"))
    for layer in keep:
        (r0, r1), (s0, s1) = trend(res["admm"], layer, "r"), trend(res["admm"], layer, "s")
        eps = [r["eps_pri"] for r in res["admm"] if r["layer"] == layer][-1]
        print(f"{layer:6s} r {r0:.3g} -> {r1:.3g} ({'falls' if r1 < r0 else 'rises'} {max(r0, r1) / min(r0, r1):.1f}x); "
              f"s {s0:.3g} -> {s1:.3g} ({'falls' if s1 < s0 else 'rises'}); at the end r is {r1 / eps:.1f}x eps_pri")

# %% [markdown]
# ## Primal residual and accuracy side by side

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for i, (name, res) in enumerate(results.items()):
    rows = res["admm"]
    for layer in keep:
        rr = [r for r in rows if r["layer"] == layer]
        axes[0].semilogy([r["k"] for r in rr], [r["r"] for r in rr], ["-", "--", ":"][i] + "o", ms=3,
                         color=f"C{list(keep).index(layer)}", label=f"{layer}, {name}" if layer == "fc1" or i == 0 else None)
    ks = sorted({r["k"] for r in rows})
    acc = [next(r["test_acc"] for r in rows if r["k"] == k) for k in ks]
    n = len(ks)
    axes[1].plot(ks + [n + r["epoch"] for r in res["retrain"]],
                 [100 * a for a in acc] + [100 * r["test_acc"] for r in res["retrain"]], ["-", "--", ":"][i] + "o",
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
savefig(fig, "t4_rho_schedules")
for name, res in results.items():
    r_end = sum(trend(res["admm"], layer, "r")[1] for layer in keep)
    print(f"{name:42s} sum of final r {r_end:6.3f}; hard-prune drop {100 * (res['acc_admm'] - res['acc_hard']):5.2f} "
          f"points; after retraining {100 * res['acc_final']:.2f}%")
drop = {n: res["acc_admm"] - res["acc_hard"] for n, res in results.items()}
final = {n: res["acc_final"] for n, res in results.items()}
print(f"hard pruning cost least after '{min(drop, key=drop.get)}' ({100 * min(drop.values()):.2f} points, against "
      f"{100 * max(drop.values()):.2f}); after retraining '{max(final, key=final.get)}' is ahead, "
      f"{100 * (max(final.values()) - min(final.values())):.2f} points above the last")

# %% [markdown]
# **What to notice:** the lines printed above, from this run: which schedule met Boyd's criterion in every
# layer and at which iteration, what that cost in iterations and seconds, how much accuracy each lost at hard
# pruning (a small primal residual makes the cut cheap), and where each ended after masked retraining. A
# cheap cut and the best retrained model need not come from the same schedule. Tutorial 5 compares ADMM with
# pruning by magnitude.

# %% [markdown]
# ## A whole run that converges in every layer
# The preset `lenet5-relu-71x-converge` runs the third schedule's idea on all 55,000 training images (5,000
# held out for validation) with settings chosen on that split: residual balancing with mu 3 and tau 1.3
# (conv1's rho kept rising where mu 10 froze it), the W-step's learning rate decaying 0.85x per iteration
# down to a floor of 2e-5 (without a floor W stops moving before it reaches Z), and Boyd's stop. Its
# committed run (`results/lenet5-relu-71x-converge/`) is read here, beside the fixed 16-iteration schedule
# of `lenet5-relu-71x` that made `models/lenet5-relu-admm-71x.npz`.

# %%
import csv
import json


def committed_run(name):
    """The ADMM history (one dict per iteration and layer) and the report of a committed run."""
    d = repo_file(f"results/{name}")
    with open(d / "history_admm.csv") as f:
        rows = [{k: v if k == "layer" else (int(v) if k == "k" else float(v) if v != "" else None)
                 for k, v in row.items()} for row in csv.DictReader(f)]
    return rows, json.loads((d / "report.json").read_text())


runs = {name: committed_run(name) for name in ("lenet5-relu-71x-converge", "lenet5-relu-71x")}
for name, (rows, report) in runs.items():
    savefig(plot_residuals(rows, title=f"ADMM residuals, preset {name}"), f"t4_residuals_{name}")
    cfg, acc = report["config"], report["accuracy"]
    iters = max(r["k"] for r in rows)
    print(f"--- {name}: {iters} iterations ({iters * cfg['w_epochs']} W-step epochs), "
          f"{report['seconds']['admm'] / 60:.1f} min of ADMM; tolerances eps_abs {cfg['eps_abs']:g}, eps_rel {cfg['eps_rel']:g}")
    for layer, c in convergence(rows).items():
        print(f"{layer:6s} " + (f"met Boyd's criterion from iteration {c['converged_at']}" if c["met_at_end"] else
                                f"not met at the end: r = {c['r'] / c['eps_pri']:.2g} eps_pri, s = {c['s'] / c['eps_dual']:.2g} eps_dual"))
    print(f"test accuracy: dense {100 * acc['dense']:.2f}%, end of ADMM {100 * acc['admm_before_hard_prune']:.2f}%, "
          f"after hard pruning {100 * acc['after_hard_prune']:.2f}%, after retraining {100 * acc['after_retraining']:.2f}%")
(conv_rows, conv_report), (fixed_rows, fixed_report) = runs.values()
print(f"convergence cost {max(r['k'] for r in conv_rows) - max(r['k'] for r in fixed_rows)} more W-step epochs and "
      f"{(conv_report['seconds']['admm'] - fixed_report['seconds']['admm']) / 60:.1f} more minutes of ADMM than the fixed schedule")
