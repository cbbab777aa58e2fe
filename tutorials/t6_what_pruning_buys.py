# %% [markdown]
# # Tutorial 6: what pruning buys
#
# **Paper:** Table 1 (LeNet-5: 71.2x fewer weights, 99.2% accuracy) and the paper's remark that pruning
# reduces storage and computation. A common complaint about unstructured pruning is "no real speed or size
# gain": the zeros are still stored and multiplied. Here we look at the pruned model
# `models/lenet5-admm-71x.npz`: where its weights went, what conv1 kept, and what a sparse format and
# sparse kernels (`minadmm.sparse`) make of it in bytes and in images per second.
#
# **You will see:** weight histograms before and after, conv1's 20 filters and masks as images, per-layer
# non-zeros against the paper's table, the file sizes, and dense against sparse inference speed.
# Quick mode times fewer batches.

# %%
import os
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np

from minadmm.nn.model import load_model, save_model
from minadmm.sparse import compress, dense_flops, save_compressed
from minadmm.pruning.targets import PAPER_LENET5
from minadmm.tutorial import mnist_subset, quick, repo_file, savefig

dense = load_model(repo_file("models/lenet5-dense.npz"))
pruned = load_model(repo_file("models/lenet5-admm-71x.npz"))
_, _, Xt, yt = mnist_subset(1, 2000 if quick() else None)

# %% [markdown]
# ## Weight histograms
# The dense weights form a bell around zero. Pruning keeps, per layer, the `l_i` weights of largest
# magnitude (`W_i <- Proj_{S_i}(W_i)` after ADMM), so the survivors are the tails of the bell; retraining
# then moves them.

# %%
fig, axes = plt.subplots(1, 4, figsize=(13, 2.8))
for ax, name in zip(axes, ["conv1", "conv2", "fc1", "fc2"]):
    Wd = dense[name].params["W"].ravel()
    Wp = pruned[name].params["W"].ravel()
    bins = np.linspace(min(Wd.min(), Wp.min()), max(Wd.max(), Wp.max()), 80)
    ax.hist(Wd, bins=bins, color="lightgray", label="dense")
    ax.hist(Wp[Wp != 0], bins=bins, color="C3", alpha=0.8, label="kept after ADMM")
    ax.set_yscale("log")
    ax.set_title(f"{name}: {np.count_nonzero(Wp):,} of {Wp.size:,} kept")
axes[0].legend(fontsize=7)
savefig(fig, "t6_weight_histograms")

# %% [markdown]
# ## conv1's filters and masks
# Top row: the dense 5x5 filters; middle: the pruned ones; bottom: the masks (white = kept). With 100 of 500
# weights kept, most filters keep a few taps and some lose all of them.

# %%
Wd, Wp = dense["conv1"].params["W"][:, 0], pruned["conv1"].params["W"][:, 0]
fig, axes = plt.subplots(3, 20, figsize=(14, 2.4))
lim = np.abs(Wd).max()
for f in range(20):
    axes[0, f].imshow(Wd[f], cmap="RdBu", vmin=-lim, vmax=lim)
    axes[1, f].imshow(Wp[f], cmap="RdBu", vmin=-lim, vmax=lim)
    axes[2, f].imshow(Wp[f] != 0, cmap="gray", vmin=0, vmax=1)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
for r, label in enumerate(["dense", "pruned", "mask"]):
    axes[r, 0].set_ylabel(label, fontsize=8)
savefig(fig, "t6_conv1_filters")
print("kept taps per conv1 filter:", (Wp != 0).sum(axis=(1, 2)).tolist())

# %% [markdown]
# ## Per-layer non-zeros against the paper's table

# %%
print(f"{'layer':6s} {'weights':>8s} {'ours':>6s} {'paper':>6s}")
for name, (n, kept) in PAPER_LENET5.items():
    print(f"{name:6s} {n:8,d} {np.count_nonzero(pruned[name].params['W']):6,d} {kept:6,d}")
acc_d = (dense.predict(Xt) == yt).mean()
acc_p = (pruned.predict(Xt) == yt).mean()
print(f"test accuracy on {len(yt)} images: dense {acc_d:.4f}, pruned {acc_p:.4f}")

# %% [markdown]
# ## Size and speed
# `compress` stores each dense layer in CSR form and each convolution as its list of non-zero taps; the
# numba kernels then touch only those:
#
#     dense layer:  y[n, j] = b[j] + sum over the non-zeros (i, j, w) of W:  w x[n, i]
#     conv layer:   y[n, f, i, j] = b[f] + sum over the non-zero taps (c, u, v, w) of filter f:  w x[n, c, i + u, j + v]
#
# so the work per image is proportional to the kept weights (times the output positions of a convolution). We compare file sizes and images per second against the dense
# model (im2col + GEMM) on the same images, and check that the predictions are identical.

# %%
sparse = compress(pruned)
with tempfile.TemporaryDirectory() as d:
    save_model(os.path.join(d, "dense.npz"), pruned)
    save_compressed(os.path.join(d, "sparse.npz"), sparse)
    size_dense = os.path.getsize(os.path.join(d, "dense.npz"))
    size_sparse = os.path.getsize(os.path.join(d, "sparse.npz"))
print(f"model file: dense format {size_dense:,} bytes, compressed {size_sparse:,} bytes "
      f"({size_dense / size_sparse:.0f}x smaller)")
same = np.array_equal(sparse.predict(Xt), pruned.predict(Xt))
print("identical predictions:", same)


def rate(fn, X, seconds):
    fn(X)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn(X)
        n += 1
    return n * len(X) / (time.perf_counter() - t0)


pruned.eval()
results = {}
for batch in (1, 256):
    X = Xt[:batch]
    results[batch] = {"dense": rate(pruned.forward, X, 0.5 if quick() else 3),
                      "sparse": rate(sparse.forward, X, 0.5 if quick() else 3)}
    print(f"batch {batch:3d}: dense {results[batch]['dense']:9.0f} img/s, sparse {results[batch]['sparse']:9.0f} img/s "
          f"({results[batch]['sparse'] / results[batch]['dense']:.1f}x)")
print(f"FLOPs per image: dense {dense_flops(pruned) / 1e6:.2f} M, sparse {sparse.flops() / 1e6:.3f} M")

fig, ax = plt.subplots(figsize=(5, 3))
xs = np.arange(2)
ax.bar(xs - 0.2, [results[b]["dense"] for b in (1, 256)], 0.4, label="dense (im2col + GEMM)")
ax.bar(xs + 0.2, [results[b]["sparse"] for b in (1, 256)], 0.4, label="sparse kernels")
ax.set_xticks(xs, ["batch 1", "batch 256"])
ax.set_yscale("log")
ax.set_ylabel("images / s")
ax.legend(fontsize=8)
savefig(fig, "t6_inference_speed")

# %% [markdown]
# %%
print(f"the compressed file is {size_dense / size_sparse:.0f}x smaller; the sparse kernels do "
      f"{dense_flops(pruned) / sparse.flops():.0f}x fewer multiply-adds, give "
      + ("identical" if same else "DIFFERENT") + " predictions, and run at "
      + ", ".join(f"{results[b]['sparse'] / results[b]['dense']:.1f}x" for b in (1, 256))
      + " the dense speed at batch 1 and 256 on this machine")
