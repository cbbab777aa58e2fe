# %% [markdown]
# # Tutorial 1: the Z-step is a projection
#
# **Paper:** section 3, the Z-step: `Z^{k+1} = Proj_S(W^{k+1} + U^k)` with `S = {Z : card(Z) <= l}`.
# The paper says this projection has an analytical solution: keep the `l` entries of largest magnitude
# and zero the rest. Here we check that claim against brute force on small vectors, look at the
# sparsity set in 2-D, and see what happens with ties.
#
# **You will see:** the set `card(z) <= 1` in the plane (the two axes), points moved to their closest
# point on it, and a tie rule that keeps exactly `l` entries where a percentile threshold keeps them all.

# %%
import itertools

import matplotlib.pyplot as plt
import numpy as np

from minadmm.admm.projections import project_cardinality
from minadmm.tutorial import savefig

rng = np.random.default_rng(0)

# %% [markdown]
# ## Keeping the k largest magnitudes is the Euclidean projection
# For a support `T` (which entries may be non-zero), the closest point to `x` is `x` restricted to `T`, at
# squared distance `sum_{i not in T} x_i^2`. That is smallest when `T` holds the largest `|x_i|`. We
# check it by trying every support on random 3-D and 6-D vectors.

# %%
def brute_force(x, k):
    best = None
    for T in itertools.combinations(range(x.size), k):
        z = np.zeros_like(x)
        z[list(T)] = x[list(T)]
        if best is None or np.sum((x - z) ** 2) < np.sum((x - best) ** 2):
            best = z
    return best


worst = 0.0
for trial in range(500):
    n = rng.integers(2, 7)
    k = rng.integers(0, n + 1)
    x = rng.standard_normal(n)
    worst = max(worst, np.sum((x - project_cardinality(x, k)) ** 2) - np.sum((x - brute_force(x, k)) ** 2))
print(f"largest excess distance of project_cardinality over brute force, 500 trials: {worst:.2e}")
print("the top-k rule " + ("is" if worst <= 1e-12 else "is NOT") + " the Euclidean projection on every trial")

# %% [markdown]
# ## The sparsity set in 2-D
# With `l = 1` the set `{z in R^2 : card(z) <= 1}` is the union of the two axes: not convex, yet the
# projection is simple. Each arrow goes from a point to its projection; points above the diagonals
# `|x1| = |x2|` go to the vertical axis, the others to the horizontal one.

# %%
pts = rng.uniform(-1, 1, (60, 2))
proj = np.array([project_cardinality(p, 1) for p in pts])
fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.axhline(0, color="C0", lw=3, alpha=0.5, label="S = {card(z) <= 1}")
ax.axvline(0, color="C0", lw=3, alpha=0.5)
ax.plot([-1, 1], [-1, 1], "k:", lw=0.8)
ax.plot([-1, 1], [1, -1], "k:", lw=0.8, label="|x1| = |x2| (ties)")
for p, q in zip(pts, proj):
    ax.annotate("", q, p, arrowprops=dict(arrowstyle="->", color="C1", lw=0.8))
ax.scatter(*pts.T, s=10, color="C1", label="x")
ax.set_aspect("equal")
ax.legend(loc="lower left", fontsize=7)
ax.set_title("Proj onto card(z) <= 1")
savefig(fig, "t1_projection_2d")

# %% [markdown]
# **What to notice:** every arrow is perpendicular to the axis it lands on (it is the closest point), and
# the diagonals are where the choice flips. On a diagonal both entries tie.
#
# ## Ties
# minadmm keeps exactly `min(l, n)` entries. Among entries tied at the threshold it keeps the ones with the
# smallest flat index. The authors' code thresholds at a percentile instead:
#
#     t = percentile(|W|, 100 (1 - l / n));   W[|W| < t] = 0
#
# It zeroes the entries strictly below `t`, so every entry whose magnitude equals `t` survives: with ties at
# the threshold it keeps more than `l` entries, and the sparsity you asked for is not the one you get.

# %%
x = np.array([0.5, 2.0, -1.0, 1.0, 1.0, -1.0, 0.1])
l = 2
ours = project_cardinality(x, l)
t = np.percentile(np.abs(x), 100 * (1 - l / x.size))
authors = np.where(np.abs(x) < t, 0, x)  # W[|W| < t] = 0
print("x                                ", x)
print(f"minadmm, l = {l}                   ", ours, "non-zeros:", np.count_nonzero(ours))
print(f"authors' rule, t = {t:.2f}          ", authors, "non-zeros:", np.count_nonzero(authors))
print(f"the percentile rule keeps {np.count_nonzero(authors)} entries where l = {l}: "
      f"{np.count_nonzero(authors) - l} tied entries too many")

# %% [markdown]
# ## Projection of a real layer's worth of weights
# On a 400,000-entry matrix (the size of LeNet-5's fc1) the projection is a partition, not a sort
# (`np.partition` finds the l-th largest magnitude in O(n)). The histogram shows which magnitudes survive at
# the paper's fc1 target of 3,600.

# %%
W = rng.standard_normal((800, 500)).astype(np.float32) * 0.05
Z = project_cardinality(W, 3600)
fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(W.ravel(), bins=200, color="lightgray", label="W (400,000 entries)")
ax.hist(Z[Z != 0], bins=200, color="C3", label="kept by Proj (3,600)")
ax.set_yscale("log")
ax.set_xlabel("weight value")
ax.legend(fontsize=8)
savefig(fig, "t1_projection_histogram")
print("kept:", np.count_nonzero(Z), "smallest kept |w|:", np.abs(Z[Z != 0]).min())
