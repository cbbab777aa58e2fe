# %% [markdown]
# # Tutorial 8: structured pruning, N:M, and what each buys
#
# **StructADMM** (Zhang et al. 2018, arXiv 1807.11091) keeps the paper's ADMM and changes only the Z-step's
# set: whole filters, channels or filter-shape columns instead of single weights. The pruned network is then
# simply a smaller dense network, fast with ordinary kernels. **N:M sparsity** (keep N of every M
# consecutive weights) is what current accelerators run. This tutorial shows the projections on tiny inputs,
# then compares, from committed runs and models, unstructured, structured and 2:4 pruning: accuracy,
# multiply-adds, and inference speed measured here.

# %% [markdown]
# ## 1. The projections
#
# Group sparsity, groups G_1..G_n of W's entries (filters: `W[f, :, :, :]`; dense units: `W[:, j]`):
#
#     Proj(x) = x on the k groups of largest ||x_G||_F,  0 elsewhere
#
# (for kept groups T the distance is `sum_{G not in T} ||x_G||^2`, smallest for the k largest norms).
# N:M: every block of M consecutive inputs of an output keeps its N largest |x| (a product of small
# cardinality sets, so exact too).

# %%
import csv
import json
import time

import matplotlib.pyplot as plt
import numpy as np

from minadmm.admm.structured import project_groups, project_nm
from minadmm.data import load_mnist
from minadmm.nn.model import load_model
from minadmm.sparse import dense_flops, load_compressed
from minadmm.tutorial import quick, repo_file, savefig

w = np.array([[1.0, 2.0], [3.0, 0.0], [0.0, -2.0]])  # a dense layer: 3 inputs, 2 units
print("unit norms^2:", (w ** 2).sum(axis=0), " keep 1 unit:\n", project_groups(w, "units", 1))
print("input norms^2:", (w ** 2).sum(axis=1), " keep 2 inputs:\n", project_groups(w, "inputs", 2))
col = np.array([[0.1], [-3.0], [2.0], [0.5], [0.7], [-0.2], [0.3], [0.0]])  # one unit, 8 inputs
print("2:4 along the inputs:", project_nm(col, 2, 4).ravel())

# %% [markdown]
# ## 2. The committed runs
#
# - **structured** (`results/lenet5-relu-structured`): conv1 6 filters, conv2 16 filters, fc1 100 units,
#   shrunk to a dense LeNet-5 of those widths (`models/lenet5-structured.npz`); its baseline is L1-norm
#   filter pruning (Li et al. 2017) with the same retraining;
# - **unstructured at the same counts** (`results/lenet5-relu-unstructured-29k`): ADMM with the per-layer
#   counts of the shrunk network's weights, the same schedule;
# - **2:4** in every layer (`results/lenet5-relu-2of4`), and unstructured ADMM at the same per-layer counts
#   (`results/lenet5-relu-unstructured-2of4-counts`).


# %%
def report(name):
    return json.loads(repo_file(f"results/{name}/report.json").read_text())


runs = {"structured": report("lenet5-relu-structured"), "unstructured, same counts": report("lenet5-relu-unstructured-29k"),
        "2:4": report("lenet5-relu-2of4"), "unstructured, 2:4's counts": report("lenet5-relu-unstructured-2of4-counts")}
shrunk = runs["structured"]["shrunk"]
for name, r in runs.items():
    print(f"{name:28} {r['kept']:>8,} weights  test {100 * r['accuracy']['after_retraining']:.2f}%  "
          f"baseline {100 * r['baseline_magnitude_acc']:.2f}%")
print(f"shrunk: widths {shrunk['widths']}, {shrunk['params']:,} parameters (of {shrunk['params_full']:,}), "
      f"{shrunk['macs']:,} multiply-adds per image (of {shrunk['macs_full']:,}: {shrunk['macs_full'] / shrunk['macs']:.1f}x "
      f"fewer), same predictions as the masked network: {shrunk['same_predictions']}")

# %% [markdown]
# ## 3. Speed, measured here
#
# The dense LeNet-5 and the shrunk one run minadmm's ordinary dense kernels (im2col + GEMM); the
# unstructured model at the same counts needs the sparse kernels (`minadmm.sparse`, CSR and non-zero
# taps) to profit from its zeros. Batch 256, best of a few passes, each model in turn.

# %%
_, _, Xt, _ = load_mnist()
X = Xt[:1024] if quick() else Xt
models = {"dense": load_model(repo_file("models/lenet5-relu-dense.npz")).eval(),
          "structured (shrunk, dense kernels)": load_model(repo_file("models/lenet5-structured.npz")).eval(),
          "unstructured (sparse kernels)": load_compressed(repo_file("models/lenet5-unstructured-29k-sparse.npz"))}


def speed(model, reps):
    best = 0.0
    for _ in range(reps):
        t0 = time.perf_counter()
        for i in range(0, len(X), 256):
            model.forward(X[i:i + 256])
        best = max(best, len(X) / (time.perf_counter() - t0))
    return best


for mdl in models.values():
    mdl.forward(X[:256])  # warm-up
sps = {name: speed(mdl, 2 if quick() else 5) for name, mdl in models.items()}
macs = {"dense": dense_flops(models["dense"]) // 2, "structured (shrunk, dense kernels)": shrunk["macs"],
        "unstructured (sparse kernels)": models["unstructured (sparse kernels)"].flops() // 2}
for name in models:
    print(f"{name:36} {sps[name]:9,.0f} images/s  ({sps[name] / sps['dense']:.1f}x dense)  {macs[name]:>10,} multiply-adds")

fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(list(sps), [sps[n] / sps["dense"] for n in sps], color=["gray", "C0", "C1"])
ax.set_xlabel("inference speed at batch 256, x the dense LeNet-5 (this machine)")
savefig(fig, "t8_speed")

# %% [markdown]
# ## 4. The residuals of structured ADMM
#
# The same primal and dual residuals as unstructured ADMM (tutorial 4): r = ||W - Z||, s = rho ||Z - Z_prev||.

# %%
with open(repo_file("results/lenet5-relu-structured/history_admm.csv")) as f:
    rows = list(csv.DictReader(f))
fig, axes = plt.subplots(1, 2, figsize=(8, 3))
for layer in sorted({r["layer"] for r in rows}):
    rr = [r for r in rows if r["layer"] == layer]
    k = [int(r["k"]) for r in rr]
    axes[0].semilogy(k, [float(r["r"]) for r in rr], label=f"{layer} ({rr[0]['keep']})")
    axes[1].semilogy(k, [float(r["s"]) for r in rr], label=layer)
axes[0].set_title("primal residual r")
axes[1].set_title("dual residual s")
for a in axes:
    a.set_xlabel("ADMM iteration k")
    a.grid(True, alpha=0.3)
axes[0].legend(fontsize=7)
savefig(fig, "t8_residuals_structured")

# %% [markdown]
# ## 5. What the numbers say

# %%
s, u = runs["structured"], runs["unstructured, same counts"]
gap = 100 * (u["accuracy"]["after_retraining"] - s["accuracy"]["after_retraining"])
print(f"at about {shrunk['params']:,} parameters, unstructured ADMM is {abs(gap):.2f} points "
      f"{'above' if gap >= 0 else 'below'} structured ADMM; the structured one runs "
      f"{sps['structured (shrunk, dense kernels)'] / sps['dense']:.1f}x faster than dense with ordinary kernels")
gap = 100 * (s["accuracy"]["after_retraining"] - s["baseline_magnitude_acc"])
print(f"structured ADMM is {abs(gap):.2f} points {'above' if gap >= 0 else 'below'} L1-norm filter pruning at the same widths")
nm, un = runs["2:4"], runs["unstructured, 2:4's counts"]
gap = 100 * (un["accuracy"]["after_retraining"] - nm["accuracy"]["after_retraining"])
print(("2:4 costs " + f"{gap:.2f} points" if gap > 0 else "2:4 costs no accuracy")
      + f" against unstructured pruning at the same per-layer counts ({100 * nm['accuracy']['after_retraining']:.2f}% "
      f"against {100 * un['accuracy']['after_retraining']:.2f}%; dense {100 * nm['accuracy']['dense']:.2f}%): its "
      f"cost is the constraint's rigidity, which these 50% counts do not feel")
