# %% [markdown]
# # Tutorial 3: train dense LeNet-5 on MNIST
#
# **Paper:** ADMM starts from a pretrained dense model ("Initialisation used by the authors: W from a
# pretrained dense model"). This tutorial trains the paper's LeNet-5 (conv 20@5x5, pool, conv 50@5x5, pool,
# fc 800->500, ReLU, dropout, fc 500->10; no ReLU after the convolutions; 431,080 parameters) with the
# authors' recipe: Adam lr 1e-3, batch 50, dropout keep 0.5, L2 5e-5. minadmm adds an lr decay of 0.8 per
# epoch, which we measured to be needed to pass 99.1% in 17 epochs.
#
# **You will see:** loss and accuracy per epoch, and the model that `models/lenet5-dense.npz` holds.
# Quick mode (`MINADMM_QUICK=1`): 5,000 training images, 2 epochs.

# %%
import matplotlib.pyplot as plt
import numpy as np

from minadmm.nn.layers import softmax_cross_entropy
from minadmm.nn.model import lenet5
from minadmm.nn.optim import Adam
from minadmm.train import TrainConfig, fit
from minadmm.tutorial import mnist_subset, quick, savefig

data = mnist_subset(5000, 2000) if quick() else mnist_subset(None, None)
config = TrainConfig(epochs=2 if quick() else 17, lr_decay=0.8)
print(f"training on {len(data[0])} images, testing on {len(data[2])}; {config}")
print(model := lenet5(seed=0))
print("parameters:", model.n_params())

# %% [markdown]
# ## The loss and its gradient
# For logits `s` (N, 10) and labels `y`, the loss is the mean cross-entropy of the softmax,
#
#     f = -1/N sum_n log softmax(s_n)[y_n],      df/ds = (softmax(s) - onehot(y)) / N,
#
# and `backward` carries `df/ds` through the layers to every weight. Here is the gradient on one batch,
# computed from the formula and by `softmax_cross_entropy`.

# %%
X, y = data[0][:50], data[1][:50]
model.eval()
logits = model.forward(X)                                   # (50, 10)
loss, dlogits = softmax_cross_entropy(logits, y)
p = np.exp(logits - logits.max(axis=1, keepdims=True))
p /= p.sum(axis=1, keepdims=True)                           # softmax, (50, 10)
by_formula = (p - np.eye(10)[y]) / len(y)
print(f"loss {loss:.4f} = -mean log p[y] = {-np.mean(np.log(p[np.arange(len(y)), y])):.4f}; "
      f"largest difference of the gradient from the formula: {np.abs(dlogits - by_formula).max():.1e}")

# %% [markdown]
# ## The Adam update
# With gradient `g` (plus `weight_decay * W` on weights, the authors' L2 term), step t:
#
#     m = b1 m + (1 - b1) g,    v = b2 v + (1 - b2) g^2,
#     W = W - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
#
# The first step moves every weight by about `lr` against the sign of its gradient. We take one step on fc2
# and compare it with the formula.

# %%
model.train()
model.backward(softmax_cross_entropy(model.forward(X), y)[1])
W0, g = model.params["fc2.W"].copy(), model.grads["fc2.W"] + 5e-5 * model.params["fc2.W"]
Adam(model.params, lr=1e-3, weight_decay=5e-5).step(model.grads)
m, v = 0.1 * g, 0.001 * g * g
expected = W0 - 1e-3 * (m / 0.1) / (np.sqrt(v / 0.001) + 1e-8)
print(f"one Adam step on fc2: largest |dW| {np.abs(model.params['fc2.W'] - W0).max():.2e} (lr 1e-3); "
      f"largest difference from the formula {np.abs(model.params['fc2.W'] - expected).max():.1e}")
model = lenet5(seed=0)  # start the training below from the untouched initialisation

# %% [markdown]
# ## Training
# `fit` runs the epochs: a shuffled pass over the training images in batches of 50, the gradient on the
# machine's cores, one Adam step per batch, the lr multiplied by `lr_decay` after each epoch.

# %%
history = fit(model, data, config)

# %% [markdown]
# ## Curves
# The history is a list of rows, one per epoch; `fit(..., out_dir=...)` also writes it as CSV and JSON.

# %%
ep = [r["epoch"] for r in history]
fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.2))
a1.plot(ep, [r["loss"] for r in history], "o-")
a1.set_xlabel("epoch")
a1.set_ylabel("training loss (dropout on)")
a1.set_yscale("log")
a2.plot(ep, [100 * r["train_acc"] for r in history], "o-", label="train (running, dropout on)")
a2.plot(ep, [100 * r["test_acc"] for r in history], "s-", label="test")
a2.set_xlabel("epoch")
a2.set_ylabel("accuracy (%)")
a2.legend()
for a in (a1, a2):
    a.grid(True, alpha=0.3)
savefig(fig, "t3_dense_training")
first, last = history[0], history[-1]
print(f"final test accuracy {last['test_acc']:.4f}, {sum(r['seconds'] for r in history):.0f} s of training")
print(f"epoch 1: train {first['train_acc']:.4f} (running, dropout on), test {first['test_acc']:.4f}; "
      f"epoch {last['epoch']}: train {last['train_acc']:.4f}, test {last['test_acc']:.4f}: train accuracy is "
      + ("above" if last["train_acc"] > last["test_acc"] else "not above") + " test accuracy at the end")

# %% [markdown]
# **What to notice:** the printed lines above. Train accuracy is measured with dropout on and averaged over
# the epoch while the weights still move, so early on it can sit below test accuracy; once the network fits
# its training images it rises above it, and that gap is what pruning, a strong regulariser, works against.
