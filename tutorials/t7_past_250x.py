# %% [markdown]
# # Tutorial 7: past 250x, and quantization with honest storage
#
# **The line of work after the paper**, all on this LeNet-5 (PAPER.md): the paper's 71.2x; ADMM-NN (Ren et
# al. 2019) 85x pruning and, with ADMM quantization on top, a 1,910x smaller weight storage; progressive ADMM
# (Ye et al. 2018) 167x; progressive DNN compression (arXiv 1903.09769) 246x. This tutorial shows the two
# new pieces of minadmm those results need, on tiny inputs you can check by hand, then reads the committed
# runs: accuracy against compression for magnitude pruning, one-round ADMM, progressive ADMM and ADMM +
# quantization, with the published points beside them.
#
# Every number below is computed here or read from a committed report (`results/`); the command that
# made each run is in its `report.md`.

# %% [markdown]
# ## 1. The Z-step for pruning + quantization
#
# The set of one layer: at most `l` non-zeros, each taking a value from `alpha * {+-m_1, ..., +-m_h}`,
# `h = 2^(b-1)` (b bits per non-zero: a sign and b - 1 bits of level):
#
#     S = {Z : card(Z) <= l,  Z_j in {0} U alpha {+-m}}          uniform m = 1..h,  pow2 m = 2^-(h-1)..1
#
# For a fixed `alpha` the projection is exact: keeping entry j gains `g_j = x_j^2 - (|x_j| - q_j)^2`
# (q_j the nearest level), which grows with |x_j|; so keep the `l` largest |x|, put each on its nearest
# level, and drop those with `|x_j| <= alpha m_1 / 2` (zero is at least as close). The scale `alpha` is a
# 1-D search (a grid, then Lloyd's step `alpha = sum |x_j| m_(j) / sum m_(j)^2`): a heuristic.

# %%
import json

import matplotlib.pyplot as plt
import numpy as np

from minadmm.admm.quantization import best_scale, distance2, project_quantized, unit_levels
from minadmm.tutorial import repo_file, savefig

x = np.array([0.2, -1.3, 0.9, 0.7, 0.1])
m = unit_levels(2, "uniform")  # levels alpha * {+-1, +-2}
z, codes = project_quantized(x, 3, 0.5, m)
print("x               ", x)
print("Proj, l=3, a=0.5", z, " codes", codes)
alpha = best_scale(x, 3, m)
z_best, _ = project_quantized(x, 3, alpha, m)
print(f"best alpha {alpha:.4f}: Proj = {np.round(z_best, 4)}, squared distance {distance2(x, 3, alpha, m):.4f} "
      f"(alpha 0.5: {distance2(x, 3, 0.5, m):.4f})")

# %% [markdown]
# ## 2. The packed file
#
# A pruned, quantized layer needs per non-zero: b bits of code (an index into the layer's codebook of at
# most 2^b float32 values) and its position, stored as the gap to the previous non-zero in p bits (Deep
# Compression's relative indices; a gap longer than 2^p - 1 costs a filler token). `minadmm pack` writes
# it; `minadmm evaluate` reads it directly.

# %%
from minadmm.sparse.packed import absolute_positions, relative_tokens

positions = np.array([0, 2, 9, 30])
for p in (2, 3, 5):
    t = relative_tokens(positions, p)
    assert np.array_equal(absolute_positions(t, p), positions)
    print(f"p = {p}: tokens {t.tolist()}  -> {p * t.size} bits for {positions.size} positions")

# %% [markdown]
# ## 3. Accuracy against compression, from the committed runs
#
# - **magnitude pruning**: one-shot at the paper's counts (`results/lenet5-relu-71x`), and progressive
#   (the baseline chain of `results/lenet5-relu-250x`: each round prunes the previous round's baseline by
#   magnitude, with the same retraining as ADMM's round);
# - **one-round ADMM**: the paper's counts, and one budget over all layers at 100x, 150x, 250x
#   (`results/sweep-budgets`, seed 0);
# - **progressive ADMM**: the rounds of `lenet5-relu-250x`;
# - **sparse VD + ADMM**: the rounds of `lenet5-relu-250x-vd`, which made `models/lenet5-admm-250x.npz`:
#   sparse variational dropout (Molchanov et al. 2017) drops the weights whose noise swamps them, then one ADMM
#   round takes the survivors to 1,722 (its baseline: magnitude pruning of the sparse VD model);
# - **ADMM + quantization**: the last round of `lenet5-relu-205x-vd-quantized`, which made
#   `models/lenet5-admm-quantized.npz` (sparse VD, one ADMM round to 2,100 weights, then a round whose Z-step
#   projects onto sparsity + levels), at its weight-bits ratio (non-zeros x bits against 430,500 x 32, how the
#   papers count) and at its file-on-disk ratio;
# - **ADMM + 1-bit quantization**: an experiment (`results/experiments/relu-71x-quant-X1`) that quantizes the
#   71x model of round 1 to the sign and a per-layer scale (conv1: 6 bits), for the fewest bits.

# %%
import csv


def report(name):
    return json.loads(repo_file(f"results/{name}/report.json").read_text())


one = report("lenet5-relu-71x")
prog = report("lenet5-relu-250x")
vd = report("lenet5-relu-250x-vd")
quant = report("lenet5-relu-205x-vd-quantized")
one_bit = report("experiments/relu-71x-quant-X1")
with open(repo_file("results/sweep-budgets/sweep.csv")) as f:
    sweep = [r for r in csv.DictReader(f) if r["seed"] == "0"]

points = {
    "one-shot magnitude": [(one["compression"], one["baseline_magnitude_acc"])],
    "progressive magnitude": [(r["compression"], r["baseline_acc"]) for r in prog["rounds"]],
    "one-round ADMM": [(one["compression"], one["accuracy"]["after_retraining"])]
                      + sorted((float(r["compression"]), float(r["test_acc"])) for r in sweep
                               if float(r["compression"]) > 72),
    "progressive ADMM": [(r["compression"], r["accuracy"]) for r in prog["rounds"]],
    "sparse VD + ADMM": [(r["compression"], r["accuracy"]) for r in vd["rounds"]],
}
packed = quant["packed"]
q_acc = quant["accuracy"]["after_retraining"]
for name, pts in points.items():
    print(f"{name:22}" + "   ".join(f"{c:6.1f}x {100 * a:.2f}%" for c, a in pts))
print(f"ADMM + quantization    {packed['weight_bits_ratio']:.0f}x weight bits, {packed['file_ratio']:.0f}x file, "
      f"{100 * q_acc:.2f}% (packed file read back: {100 * packed['test_acc']:.2f}%)")
b_acc = 100 * one_bit["accuracy"]["after_retraining"]
print(f"ADMM + 1-bit quant.    {one_bit['packed']['weight_bits_ratio']:.0f}x weight bits, "
      f"{one_bit['packed']['file_ratio']:.0f}x file, {b_acc:.2f}%")

# %%
PUBLISHED = [(71.2, "paper 71.2x"), (85, "ADMM-NN 85x"), (167, "progressive 167x"), (246, "progressive 246x"),
             (1910, "ADMM-NN + quant. 1,910x")]
fig, ax = plt.subplots(figsize=(7.5, 4))
for (name, pts), mark in zip(points.items(), ["s", "D", "o", "^", "v"]):
    ax.plot(*zip(*[(c, 100 * a) for c, a in pts]), mark + "-", label=name)
ax.plot([packed["weight_bits_ratio"]], [100 * q_acc], "*", ms=12, label="ADMM + quantization (weight bits)")
ax.plot([packed["file_ratio"]], [100 * q_acc], "P", ms=9, label="ADMM + quantization (file on disk)")
ax.plot([one_bit["packed"]["weight_bits_ratio"]], [b_acc], "*", ms=12, mfc="none", label="ADMM + 1 bit (weight bits)")
ax.plot([one_bit["packed"]["file_ratio"]], [b_acc], "P", ms=9, mfc="none", label="ADMM + 1 bit (file on disk)")
for c, label in PUBLISHED:
    ax.axvline(c, color="gray", ls=":", lw=0.8)
    ax.text(c, 97.5, label, rotation=90, fontsize=6, va="bottom", ha="right", color="gray")
ax.axhline(99.1, color="C3", ls="--", lw=0.8, label="99.1%")
ax.set_xscale("log")
ax.set_ylim(97.4, 99.5)
ax.set_xlabel("compression (x): weights, or bits for the quantized points")
ax.set_ylabel("test accuracy (%)")
ax.grid(True, which="both", alpha=0.3)
ax.legend(fontsize=6.5, loc="center left", bbox_to_anchor=(1.01, 0.5))
ax.set_title("published results (dotted): the papers report no accuracy loss at these ratios", fontsize=8)
savefig(fig, "t7_accuracy_vs_compression")

# %% [markdown]
# ## 4. What the numbers say

# %%
last = prog["rounds"][-1]
one_shot_250 = [a for c, a in points["one-round ADMM"] if round(c) == 250]
print(f"progressive ADMM reaches {last['compression']:.0f}x at {100 * last['accuracy']:.2f}%"
      + (f"; one round to the same budget reached {100 * one_shot_250[0]:.2f}%" if one_shot_250 else ""))
for r in prog["rounds"]:
    gap = 100 * (r["accuracy"] - r["baseline_acc"])
    print(f"round {r['round']} ({r['compression']:.0f}x): ADMM {'above' if gap >= 0 else 'below'} progressive "
          f"magnitude pruning by {abs(gap):.2f} points")
vd_last = vd["rounds"][-1]
print(f"sparse VD kept {vd['rounds'][0]['kept']:,} weights at {100 * vd['rounds'][0]['accuracy']:.2f}%; one ADMM round "
      f"from there reaches {vd_last['compression']:.0f}x at {100 * vd_last['accuracy']:.2f}% (magnitude pruning of the "
      f"sparse VD model, same retraining: {100 * vd_last['baseline_acc']:.2f}%)")
bits = {row["layer"]: row["value_bits"] for row in packed["layers"]}
print(f"quantized: {packed['nnz']:,} non-zeros at {bits} bits; {packed['file_bytes']:,} bytes on disk against "
      f"{packed['dense_file_bytes']:,} for the dense float32 model ({packed['file_ratio']:.0f}x)")
idx = {row["layer"]: round(row["index_bits_per_nz"], 1) for row in packed["layers"]}
print(f"the positions cost more than the values: index bits per non-zero {idx}")
