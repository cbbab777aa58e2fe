"""Does the test suite catch any single change to an equation? Run: ``python tests/mutation_check.py``.

For every equation of the method (the W-step penalty and its gradient, the Z-step, the U-step, r, s,
eps_pri, eps_dual, the stopping rule, U rescaling, the rho schedule and its index, the initialisation,
keep-count rounding, the tie rule, the quantized projection and the retraining of scales and codebooks,
masked optimizer state, weight decay on weights only, SGD momentum,
Adam, the loss gradient; sparse variational dropout's log alpha, KL and its gradients, the layer's sampled
output and backward, the objective's KL weight and schedule) it makes one change at a time in the source (a
sign, a missing or extra factor, squared against unsquared, a wrong or swapped argument), runs the tests
that cover it, and restores the file. A change the tests do not catch is printed as SURVIVED; the exit
status is the number of those.
Each mutant's tests run in a fresh process (``-p no:cacheprovider``), with numba's cache in a temporary
directory so that no compiled kernel outlives its source.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "minadmm"
FAST = ["tests/test_admm.py", "tests/test_equations.py", "tests/test_projections.py", "tests/test_budget.py",
        "tests/test_quantization.py", "tests/test_quantized_retrain.py", "tests/test_packed.py",
        "tests/test_structured.py", "tests/test_shrink.py"]
ALL_MATH = FAST + ["tests/test_kernels.py", "tests/test_layers.py", "tests/test_optim_model.py"]
VD = ["tests/test_sparse_vd.py"]  # sparse variational dropout: its own tests

# (file under minadmm/, the exact text, its mutant, what changes)
MUTANTS = [
    ("admm/steps.py", "return rho / 2 * np.sum((W - Z + U) ** 2)", "return rho * np.sum((W - Z + U) ** 2)", "penalty: factor 1/2 lost"),
    ("admm/steps.py", "return rho / 2 * np.sum((W - Z + U) ** 2)", "return rho / 2 * np.sum(np.abs(W - Z + U))", "penalty: not squared"),
    ("admm/steps.py", "return rho / 2 * np.sum((W - Z + U) ** 2)", "return rho / 2 * np.sqrt(np.sum((W - Z + U) ** 2))", "penalty: norm, not its square"),
    ("admm/steps.py", "return rho / 2 * np.sum((W - Z + U) ** 2)", "return rho / 2 * np.sum((W - Z - U) ** 2)", "penalty: sign of U"),
    ("admm/steps.py", "return rho * (W - Z + U)", "return (W - Z + U)", "penalty gradient: rho lost"),
    ("admm/steps.py", "return rho * (W - Z + U)", "return rho / 2 * (W - Z + U)", "penalty gradient: extra 1/2"),
    ("admm/steps.py", "return rho * (W - Z + U)", "return rho * (W + Z + U)", "penalty gradient: sign of Z"),
    ("admm/steps.py", "return rho * (W - Z + U)", "return rho * (W - Z - U)", "penalty gradient: sign of U"),
    ("admm/steps.py", "return rho * (W - Z + U)", "return rho * (Z - W + U)", "penalty gradient: W and Z swapped"),
    ("nn/kernels.py", "g[i] += rho * (W[i] - Z[i] + U[i])", "g[i] += rho * (W[i] - Z[i] - U[i])", "fused penalty kernel: sign of U"),
    ("nn/kernels.py", "g[i] += rho * (W[i] - Z[i] + U[i])", "g[i] += (W[i] - Z[i] + U[i])", "fused penalty kernel: rho lost"),
    ("nn/kernels.py", "g[i] += rho * (W[i] - Z[i] + U[i])", "g[i] = rho * (W[i] - Z[i] + U[i])", "fused penalty kernel: replaces the loss gradient"),
    ("admm/steps.py", "return project(W + U, l)", "return project(W - U, l)", "Z-step: W - U"),
    ("admm/steps.py", "return project(W + U, l)", "return project(W, l)", "Z-step: U left out"),
    ("admm/steps.py", "return U + W - Z", "return U - W + Z", "U-step: signs"),
    ("admm/steps.py", "return U + W - Z", "return W - Z", "U-step: U left out"),
    ("admm/steps.py", "return U + W - Z", "return U + W + Z", "U-step: sign of Z"),
    ("admm/steps.py", "return float(np.linalg.norm((W - Z).ravel()))", "return float(np.linalg.norm((W - Z).ravel()) ** 2)", "r: squared"),
    ("admm/steps.py", "return float(np.linalg.norm((W - Z).ravel()))", "return float(np.linalg.norm((W + Z).ravel()))", "r: W + Z"),
    ("admm/steps.py", "return float(rho * np.linalg.norm((Z - Z_prev).ravel()))", "return float(np.linalg.norm((Z - Z_prev).ravel()))", "s: rho lost"),
    ("admm/steps.py", "return float(rho * np.linalg.norm((Z - Z_prev).ravel()))", "return float(rho * np.linalg.norm((Z - Z_prev).ravel()) ** 2)", "s: squared"),
    ("admm/steps.py", "return float(rho * np.linalg.norm((Z - Z_prev).ravel()))", "return float(rho * rho * np.linalg.norm((Z - Z_prev).ravel()))", "s: rho squared"),
    ("admm/steps.py", "return float(rho * np.linalg.norm((Z - Z_prev).ravel()))", "return float(rho * np.linalg.norm((Z + Z_prev).ravel()))", "s: Z + Z_prev"),
    ("admm/steps.py", "root_n = np.sqrt(W.size)", "root_n = W.size", "eps: n instead of sqrt(n)"),
    ("admm/steps.py", "eps_rel * max(norm(W), norm(Z))", "eps_rel * min(norm(W), norm(Z))", "eps_pri: min instead of max"),
    ("admm/steps.py", "eps_rel * max(norm(W), norm(Z))", "eps_rel * norm(W)", "eps_pri: ||Z|| left out"),
    ("admm/steps.py", "eps_rel * max(norm(W), norm(Z))", "eps_rel * norm(Z)", "eps_pri: ||W|| left out"),
    ("admm/steps.py", "eps_rel * max(norm(W), norm(Z))", "eps_abs * max(norm(W), norm(Z))", "eps_pri: eps_abs for eps_rel"),
    ("admm/steps.py", "root_n * eps_abs + eps_rel * rho * norm(U)", "root_n * eps_abs + eps_rel * norm(U)", "eps_dual: rho lost"),
    ("admm/steps.py", "root_n * eps_abs + eps_rel * rho * norm(U)", "root_n * eps_abs + eps_rel * rho * norm(U) ** 2", "eps_dual: ||U|| squared"),
    ("admm/steps.py", "root_n * eps_abs + eps_rel * rho * norm(U)", "root_n * eps_abs + eps_rel * rho * rho * norm(U)", "eps_dual: rho squared"),
    ("admm/steps.py", "return r <= eps_pri and s <= eps_dual", "return r <= eps_pri or s <= eps_dual", "stop rule: or"),
    ("admm/steps.py", "return r <= eps_pri and s <= eps_dual", "return r < eps_pri and s <= eps_dual", "stop rule: strict"),
    ("admm/steps.py", "return r <= eps_pri and s <= eps_dual", "return r <= eps_dual and s <= eps_pri", "stop rule: tolerances swapped"),
    ("admm/steps.py", "return U * (rho_old / rho_new)", "return U * (rho_new / rho_old)", "U rescaling: inverted"),
    ("admm/steps.py", "return U * (rho_old / rho_new)", "return U", "U rescaling: none"),
    ("admm/loop.py", "U = {i: u_step(state.U[i], W[i], Z[i]) for i in l}", "U = {i: u_step(state.U[i], W[i], Z_prev[i]) for i in l}", "loop: U-step with Z^k"),
    ("admm/loop.py", "Z = {i: z_step(W[i], state.U[i], l[i], projection(project, i)) for i in l}", "Z = {i: z_step(W[i], 0 * state.U[i], l[i], projection(project, i)) for i in l}", "loop: Z-step without U"),
    ("admm/loop.py", "res = {i: residuals(W[i], Z[i], Z_prev[i], U[i], state.rho[i], eps_abs, eps_rel) for i in l}", "res = {i: residuals(W[i], Z[i], Z_prev[i], state.U[i], state.rho[i], eps_abs, eps_rel) for i in l}", "loop: eps_dual with U^k"),
    ("admm/loop.py", "rho_update(i, state.k, state.rho[i], res[i][\"r\"], res[i][\"s\"])", "rho_update(i, state.k + 1, state.rho[i], res[i][\"r\"], res[i][\"s\"])", "loop: rho index + 1"),
    ("admm/loop.py", "rho_update(i, state.k, state.rho[i], res[i][\"r\"], res[i][\"s\"])", "rho_update(i, state.k, state.rho[i], res[i][\"s\"], res[i][\"r\"])", "loop: r and s swapped in the rho update"),
    ("admm/loop.py", "if rescale_U:", "if not rescale_U:", "loop: rescaling switched"),
    ("admm/loop.py", "Z = {i: projection(project, i)(W[i], l[i]) for i in l}", "Z = {i: W[i].copy() for i in l}", "init: Z^0 = W^0"),
    ("admm/loop.py", "Z, l = budget.project({i: W[i] for i in l})", "Z, l = {i: W[i].copy() for i in l}, dict(l)", "init with a budget: Z^0 = W^0"),
    ("admm/loop.py", "U={i: np.zeros_like(W[i]) for i in l}", "U={i: np.ones_like(W[i]) for i in l}", "init: U^0 = 1"),
    ("admm/rho.py", "return float(min(self.rho0 * self.growth ** k, self.rho_max))", "return float(max(self.rho0 * self.growth ** k, self.rho_max))", "rho: max instead of min"),
    ("admm/rho.py", "return float(min(self.rho0 * self.growth ** k, self.rho_max))", "return float(min(self.rho0 * self.growth ** (k + 1), self.rho_max))", "rho: exponent k + 1"),
    ("admm/rho.py", "return float(min(self.rho0 * self.growth ** k, self.rho_max))", "return float(min(self.rho0 * self.growth * k, self.rho_max))", "rho: growth * k"),
    ("admm/rho.py", "        if r > self.mu * s:\n            rho = rho * self.tau", "        if r > self.mu * s:\n            rho = rho / self.tau", "balancing: rho falls when r is large"),
    ("admm/rho.py", "        elif s > self.mu * r:\n            rho = rho / self.tau", "        elif s > self.mu * r:\n            rho = rho * self.tau", "balancing: rho grows when s is large"),
    ("admm/rho.py", "        if r > self.mu * s:", "        if r > s:", "balancing: mu left out"),
    ("admm/rho.py", "return float(min(max(rho, self.rho_min), self.rho_max))", "return float(rho)", "balancing: not clipped"),
    ("admm/projections.py", "return int(np.floor(ratio * n + 0.5))", "return int(np.round(ratio * n))", "keep count: round half to even"),
    ("admm/projections.py", "return int(np.floor(ratio * n + 0.5))", "return int(ratio * n)", "keep count: truncated"),
    ("admm/projections.py", "return int(np.floor(ratio * n + 0.5))", "return int(np.ceil(ratio * n))", "keep count: ceiling"),
    ("admm/projections.py", "mask = a > t\n", "mask = a >= t\n", "ties: all kept (percentile rule)"),
    ("admm/projections.py", "ties = np.flatnonzero(a == t)[:k - int(mask.sum())]", "ties = np.flatnonzero(a == t)[::-1][:k - int(mask.sum())]", "ties: largest index first"),
    ("admm/projections.py", "counts = {i: min(floor, np.asarray(x).size) for i, x in xs.items()}", "counts = {i: 0 for i in xs}", "budget: floor left out"),
    ("admm/projections.py", "rest.append(np.sort(a)[::-1][counts[i]:])", "rest.append(np.sort(a)[counts[i]:])", "budget: smallest magnitudes first within a layer"),
    ("admm/projections.py", "order = np.lexsort((np.arange(values.size), -values))[:extra]", "order = np.lexsort((np.arange(values.size), values))[:extra]", "budget: smallest magnitudes over the layers"),
    ("admm/projections.py", "scale = {i: float(np.abs(x).max(initial=0.0)) or 1.0 for i, x in xs.items()}", "scale = {i: float(np.abs(x).mean()) or 1.0 for i, x in xs.items()}", "budget normalised: by the mean, not the largest"),
    ("admm/steps.py", "return budget.project({i: W[i] + U[i] for i in W})", "return budget.project({i: W[i] - U[i] for i in W})", "budget Z-step: W - U"),
    ("admm/steps.py", "return budget.project({i: W[i] + U[i] for i in W})", "return budget.project({i: W[i] for i in W})", "budget Z-step: U left out"),
    ("pruning/retrain.py", "        keep = budget.project({name: model[name].params[\"W\"] for name in keep})[1]\n", "", "hard pruning: the budget ignored"),
    ("nn/optim.py", "        if mask is not None:\n            v *= mask\n", "        if mask is not None:\n            pass\n", "SGD: momentum of pruned weights kept"),
    ("nn/kernels.py", "mi = (b1 * m[i] + omb1 * gi) * mask[i]", "mi = (b1 * m[i] + omb1 * gi)", "Adam masked: first moment of pruned weights kept"),
    ("nn/kernels.py", "vi = (b2 * v[i] + omb2 * gi * gi) * mask[i]", "vi = (b2 * v[i] + omb2 * gi * gi)", "Adam masked: second moment of pruned weights kept"),
    ("nn/optim.py", 'return self.weight_decay if k.endswith(".W") else 0.0', "return self.weight_decay", "weight decay on biases too"),
    ("nn/optim.py", "            v += self._decay(k) * w\n", "            v -= self._decay(k) * w\n", "SGD: sign of weight decay"),
    ("nn/optim.py", "        v *= self.momentum\n        v += g\n", "        v *= self.momentum\n        v += (1 - self.momentum) * g\n", "SGD: dampened momentum"),
    ("nn/optim.py", "        w -= self.lr * v\n", "        w -= self.lr * g\n", "SGD: no momentum in the step"),
    ("nn/kernels.py", "        w[i] -= lr * (mi / c1) / (np.sqrt(vi / c2) + eps)", "        w[i] -= lr * mi / (np.sqrt(vi) + eps)", "Adam: no bias correction"),
    ("nn/kernels.py", "        vi = b2 * v[i] + omb2 * gi * gi\n        m[i]", "        vi = b2 * v[i] + omb2 * gi\n        m[i]", "Adam: second moment not squared"),
    ("nn/kernels.py", "        gi = g[i] + wd * w[i]\n        mi = b1", "        gi = g[i] - wd * w[i]\n        mi = b1", "Adam: sign of weight decay"),
    ("nn/reference.py", "    v += (1 - beta2) * g * g\n", "    v += (1 - beta2) * g\n", "Adam twin: second moment not squared"),
    ("nn/layers.py", "    dlogits /= N\n", "", "loss gradient: 1/N lost"),
    ("nn/layers.py", "    dlogits[np.arange(N), y] -= 1\n", "    dlogits[np.arange(N), y] += 1\n", "loss gradient: sign of the one-hot"),
    ("nn/layers.py", "    loss = -logp[np.arange(N), y].mean()", "    loss = -logp[np.arange(N), y].sum()", "loss: sum instead of mean"),
    ("admm/quantization.py", "keep = topk_mask(x, l) & (a > alpha * m[0] / 2)", "keep = topk_mask(x, l) & (a > alpha * m[0])", "quantized projection: zero threshold without 1/2"),
    ("admm/quantization.py", "keep = topk_mask(x, l) & (a > alpha * m[0] / 2)", "keep = topk_mask(x, l) & (a >= alpha * m[0] / 2)", "quantized projection: tie at half a level kept"),
    ("admm/quantization.py", "keep = topk_mask(x, l) & (a > alpha * m[0] / 2)", "keep = topk_mask(x, l)", "quantized projection: no zero threshold"),
    ("admm/quantization.py", "mid = (m[1:] + m[:-1]) / 2", "mid = m[1:]", "quantized projection: nearest level by the upper level"),
    ("admm/quantization.py", 'return np.searchsorted(mid, a, side="left")', 'return np.searchsorted(mid, a, side="right")', "quantized projection: midpoint goes up"),
    ("admm/quantization.py", "return np.where(c > 0, np.sign(codes) * alpha * m[np.maximum(c, 1) - 1], 0.0)", "return np.where(c > 0, alpha * m[np.maximum(c, 1) - 1], 0.0)", "quantized projection: sign lost"),
    ("admm/quantization.py", "return 2.0 ** -np.arange(h - 1, -1, -1, dtype=np.float64)", "return 2.0 ** -np.arange(h, 0, -1, dtype=np.float64)", "pow2 levels: off by one exponent"),
    ("admm/quantization.py", "alpha = float(np.sum(top * mu) / np.sum(mu * mu))", "alpha = float(np.sum(top * mu) / np.sum(mu))", "scale: Lloyd step not squared"),
    ("pruning/quantized.py", "g = float(np.sum(grads[k].astype(np.float64) * self.C[k]))", "g = float(np.sum(grads[k].astype(np.float64)))", "scale gradient: C left out"),
    ("pruning/quantized.py", "v[0] = b2 * v[0] + (1 - b2) * g * g", "v[0] = b2 * v[0] + (1 - b2) * g", "scale Adam: second moment not squared"),
    ("pruning/quantized.py", "m_hat, v_hat = m[0] / (1 - b1 ** self.t), v[0] / (1 - b2 ** self.t)", "m_hat, v_hat = m[0], v[0]", "scale Adam: no bias correction"),
    ("pruning/quantized.py", "self.alpha[k][0] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)", "self.alpha[k][0] += self.lr * m_hat / (np.sqrt(v_hat) + self.eps)", "scale Adam: sign of the step"),
    ("pruning/quantized.py", "self.c[k] = alpha * levels.astype(np.float64)", "self.c[k] = levels.astype(np.float64)", "codebook: starts without the scale"),
    ("pruning/quantized.py", "levels, group = np.unique(C[self.kept[k]], return_inverse=True)", "levels, group = np.unique(np.abs(C[self.kept[k]]), return_inverse=True)", "codebook: groups by level, not signed level"),
    ("pruning/quantized.py", "W[self.kept[k]] = self.c[k][self.group[k]]", "W[self.kept[k]] = self.c[k][::-1][self.group[k]]", "codebook: values of the wrong groups"),
    ("pruning/quantized.py", "g = np.bincount(self.group[k], weights=grads[k][self.kept[k]].astype(np.float64),", "g = np.bincount(self.group[k], weights=np.abs(grads[k][self.kept[k]]).astype(np.float64),", "codebook gradient: sign of the weights' gradients lost"),
    ("pruning/quantized.py", "                            minlength=self.c[k].size)  # dL/dc_k: the sum over group k", "                            minlength=self.c[k].size) / np.bincount(self.group[k])  # dL/dc_k: the sum over group k", "codebook gradient: the mean over a group, not the sum"),
    ("pruning/quantized.py", "v[...] = b2 * v + (1 - b2) * g * g", "v[...] = b2 * v + (1 - b2) * np.abs(g)", "codebook Adam: second moment not squared"),
    ("pruning/quantized.py", "m_hat, v_hat = m / (1 - b1 ** self.t), v / (1 - b2 ** self.t)", "m_hat, v_hat = m, v", "codebook Adam: no bias correction"),
    ("pruning/quantized.py", "m[...] = b1 * m + (1 - b1) * g", "m[...] = b2 * m + (1 - b2) * g", "codebook Adam: first moment with beta2"),
    ("pruning/quantized.py", "self.c[k] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)", "self.c[k] += self.lr * m_hat / (np.sqrt(v_hat) + self.eps)", "codebook Adam: sign of the step"),
    ("sparse/packed.py", "tokens[at] = gaps - fillers * step", "tokens[at] = gaps - fillers * (step + 1)", "relative indices: filler length"),
    ("admm/structured.py", "weights=(a ** 2 if norm == \"l2\" else np.abs(a))", "weights=(np.abs(a) if norm == \"l2\" else np.abs(a))", "group projection: L1 norms instead of Frobenius"),
    ("admm/structured.py", "        return idx[1], shape[1]\n    if kind == \"columns\"", "        return idx[0], shape[0]\n    if kind == \"columns\"", "group projection: channels grouped as filters"),
    ("admm/structured.py", "np.put_along_axis(keep, order[:, :, :n], True, axis=2)", "np.put_along_axis(keep, order[:, :, :n + 1], True, axis=2)", "N:M projection: one too many per block"),
    ("admm/structured.py", "order = np.argsort(-b, axis=2, kind=\"stable\")", "order = np.argsort(b, axis=2, kind=\"stable\")", "N:M projection: smallest first"),
    ("pruning/shrink.py", "b2 = b2 + W2[:, fold].sum(axis=(2, 3)) @ _act(b1[fold], relu)", "b2 = b2 + W2[:, fold].sum(axis=(2, 3)) @ b1[fold]", "shrinking: conv1's folded constant without its ReLU"),
    ("pruning/shrink.py", "b4 = b4 + np.maximum(b3[fold], 0) @ W4[fold]", "b4 = b4 + b3[fold] @ W4[fold]", "shrinking: fc1's folded constant without its ReLU"),
    ("pruning/shrink.py", "keep1 = np.flatnonzero(used & ~zero)", "keep1 = np.flatnonzero(used)", "shrinking: zero conv1 filters kept after folding"),
    ("pruning/quantized.py", "return np.moveaxis(W_next, 1, 0).reshape(n_units, -1)", "return W_next.reshape(n_units, -1)", "dead biases: a convolution's output channels for its input channels"),
    ("pruning/quantized.py", "return W_next.reshape(n_units, -1)\n", "return W_next.reshape(-1, n_units).T\n", "dead biases: Flatten's order interleaved"),
    ("pruning/quantized.py", "dead = ~unit_fan_out(model[nxt].params[\"W\"], b.size).any(axis=1)", "dead = ~unit_fan_out(model[nxt].params[\"W\"], b.size).all(axis=1)", "dead biases: one zero weight instead of all"),
    ("sparse/packed.py", "b[live] = np.frombuffer(parts[4], dtype=\"<f2\").astype(np.float32)", "b[:live.size] = np.frombuffer(parts[4], dtype=\"<f2\").astype(np.float32)", "stored biases: positions ignored"),
    ("sparse/packed.py", "place = np.cumsum(np.where(tokens == 0, step, tokens)) - 1", "place = np.cumsum(np.where(tokens == 0, step, tokens))", "relative indices: start at place 0"),
    ("nn/variational.py", "return log_sigma2 - np.log(theta * theta + LOG_ALPHA_EPS)", "return log_sigma2 + np.log(theta * theta + LOG_ALPHA_EPS)", "sparse VD log alpha: sign of log theta^2"),
    ("nn/variational.py", "return log_sigma2 - np.log(theta * theta + LOG_ALPHA_EPS)", "return log_sigma2 - np.log(np.abs(theta) + LOG_ALPHA_EPS)", "sparse VD log alpha: theta not squared"),
    ("nn/variational.py", "return log_sigma2 - np.log(theta * theta + LOG_ALPHA_EPS)", "return 2 * log_sigma2 - np.log(theta * theta + LOG_ALPHA_EPS)", "sparse VD log alpha: factor on log sigma^2"),
    ("nn/variational.py", "K1 - K1 * sigmoid(K2 + K3 * la) + 0.5 * np.log1p(np.exp(-la))", "K1 + K1 * sigmoid(K2 + K3 * la) + 0.5 * np.log1p(np.exp(-la))", "sparse VD KL: sign of the sigmoid term"),
    ("nn/variational.py", "K1 - K1 * sigmoid(K2 + K3 * la) + 0.5 * np.log1p(np.exp(-la))", "K1 - K1 * sigmoid(K2 + K3 * la) + np.log1p(np.exp(-la))", "sparse VD KL: factor 1/2 lost"),
    ("nn/variational.py", "K1 - K1 * sigmoid(K2 + K3 * la) + 0.5 * np.log1p(np.exp(-la))", "K1 - K1 * sigmoid(K2 + K3 * la) + 0.5 * np.log1p(np.exp(la))", "sparse VD KL: 1 + alpha for 1 + 1/alpha"),
    ("nn/variational.py", "K1 - K1 * sigmoid(K2 + K3 * la) + 0.5 * np.log1p(np.exp(-la))", "K1 - K1 * sigmoid(K2 - K3 * la) + 0.5 * np.log1p(np.exp(-la))", "sparse VD KL: sign of k3"),
    ("nn/variational.py", "K1 - K1 * sigmoid(K2 + K3 * la) + 0.5 * np.log1p(np.exp(-la))", "-K1 * sigmoid(K2 + K3 * la) + 0.5 * np.log1p(np.exp(-la))", "sparse VD KL: constant k1 lost"),
    ("nn/variational.py", "return -K1 * K3 * s * (1 - s) - 0.5 * sigmoid(-la)", "return -K1 * K3 * s * (1 - s) + 0.5 * sigmoid(-la)", "sparse VD dKL/dlog alpha: sign of the second term"),
    ("nn/variational.py", "return -K1 * K3 * s * (1 - s) - 0.5 * sigmoid(-la)", "return -K1 * s * (1 - s) - 0.5 * sigmoid(-la)", "sparse VD dKL/dlog alpha: k3 lost"),
    ("nn/variational.py", "return -K1 * K3 * s * (1 - s) - 0.5 * sigmoid(-la)", "return -K1 * K3 * s * (1 - s) - 0.5 * sigmoid(la)", "sparse VD dKL/dlog alpha: sigmoid(la)"),
    ("nn/variational.py", "return kl(la), dla * (-2 * W / (W * W + LOG_ALPHA_EPS)), dla", "return kl(la), dla * (-W / (W * W + LOG_ALPHA_EPS)), dla", "sparse VD dKL/dtheta: factor 2 lost"),
    ("nn/variational.py", "return kl(la), dla * (-2 * W / (W * W + LOG_ALPHA_EPS)), dla", "return kl(la), dla * (2 * W / (W * W + LOG_ALPHA_EPS)), dla", "sparse VD dKL/dtheta: sign"),
    ("nn/variational.py", "self.std = np.sqrt(v + VAR_EPS)", "self.std = v + VAR_EPS", "sparse VD forward: variance for std"),
    ("nn/variational.py", "return mu + self.std * self.eps", "return mu + self.eps", "sparse VD forward: std lost"),
    ("nn/variational.py", "np.exp(self.params[\"log_sigma2\"]).astype(x.dtype)", "np.exp(0.5 * self.params[\"log_sigma2\"]).astype(x.dtype)", "sparse VD forward: sigma for sigma^2"),
    ("nn/variational.py", "v = np.array(self.var.forward(x * x))", "v = np.array(self.var.forward(x))", "sparse VD forward: x for x^2"),
    ("nn/variational.py", "dvar = dout * self.eps / (2 * self.std)", "dvar = dout * self.eps / self.std", "sparse VD backward: factor 1/2 lost"),
    ("nn/variational.py", "dvar = dout * self.eps / (2 * self.std)", "dvar = dout * self.eps * self.std / 2", "sparse VD backward: times std"),
    ("nn/variational.py", "return dx + 2 * self.x * dx2", "return dx + self.x * dx2", "sparse VD backward: factor 2 of dx^2/dx lost"),
    ("nn/variational.py", "return dx + 2 * self.x * dx2", "return dx", "sparse VD backward: variance path of dx lost"),
    ("nn/variational.py", "self.var.grads[\"W\"] * self.var.params[\"W\"]", "self.var.grads[\"W\"]", "sparse VD backward: dL/dsigma^2 for dL/dlog sigma^2"),
    ("nn/variational.py", "return self.log_alpha() < self.threshold", "return self.log_alpha() > self.threshold", "sparse VD evaluation: the weights of large log alpha kept"),
    ("pruning/sparse_vd.py", "layer.grads[\"W\"] += (c * d_theta)", "layer.grads[\"W\"] += (d_theta)", "sparse VD objective: KL weight lost on theta"),
    ("pruning/sparse_vd.py", "layer.grads[\"log_sigma2\"] += (c * d_log_sigma2)", "layer.grads[\"log_sigma2\"] += (d_log_sigma2)", "sparse VD objective: KL weight lost on log sigma^2"),
    ("pruning/sparse_vd.py", "add_kl(layers.values(), w[\"kl_weight\"] / len(X))", "add_kl(layers.values(), w[\"kl_weight\"])", "sparse VD objective: KL not divided by N"),
    ("pruning/sparse_vd.py", "add_kl(layers.values(), w[\"kl_weight\"] / len(X))", "add_kl(layers.values(), 1 / len(X))", "sparse VD objective: no KL ramp"),
    ("pruning/sparse_vd.py", "return min(1.0, epoch / self.kl_ramp)", "return min(1.0, (epoch - 1) / self.kl_ramp)", "sparse VD schedule: ramp index"),
    ("pruning/sparse_vd.py", "return self.lr * (1 - (epoch - 1) / self.epochs)", "return self.lr * (1 - epoch / self.epochs)", "sparse VD schedule: lr index"),
    ("pruning/sparse_vd.py", "return self.lr * (1 - (epoch - 1) / self.epochs)", "return self.lr * (1 - (epoch - 1) / self.epochs) ** 2", "sparse VD schedule: lr squared"),
]


def run_tests(tests, env):
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests], cwd=ROOT,
                       env=env, capture_output=True, text=True)
    return r.returncode


def main():
    survived = []
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for rel, text, mutant, what in MUTANTS:
            if sys.argv[1:] and not any(word in what for word in sys.argv[1:]):
                continue  # python tests/mutation_check.py WORD...: only the changes whose description has a WORD
            path = PKG / rel
            source = path.read_text()
            if source.count(text) != 1:
                print(f"STALE  {what}: the text is in {rel} {source.count(text)} times, not once")
                survived.append(what)
                continue
            tests = VD if "sparse VD" in what else ALL_MATH if rel.startswith("nn/") else FAST
            try:
                path.write_text(source.replace(text, mutant))
                code = run_tests(tests, env)
            finally:
                path.write_text(source)
            verdict = "caught" if code == 1 else ("SURVIVED" if code == 0 else f"error {code}")
            print(f"{verdict:8} {what}  ({rel})", flush=True)
            if code != 1:
                survived.append(what)
    tried = [m for m in MUTANTS if not sys.argv[1:] or any(word in m[3] for word in sys.argv[1:])]
    print(f"{len(tried) - len(survived)} of {len(tried)} changes caught")
    return len(survived)


if __name__ == "__main__":
    sys.exit(main())
