"""Experiment: masked retraining with knowledge distillation from the dense teacher."""
import sys, time, json, numpy as np
import minadmm.parallel as par
from minadmm.data import load_mnist
from minadmm.model import load_model
from minadmm.prune import hard_prune
from minadmm.optim import Adam
from minadmm.train import run_epoch
from minadmm.targets import preset

admm_path, teacher_path, alpha, T, epochs, decay, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), sys.argv[7]
X, y, Xt, yt = load_mnist(download=False)
teacher = load_model(teacher_path).eval()
tl = np.concatenate([teacher.forward(X[i:i+1000]) for i in range(0, len(X), 1000)]).astype(np.float32)
print("teacher train acc", (tl.argmax(1) == y).mean(), "test", teacher.accuracy(Xt, yt), flush=True)
def softmax(z):
    z = z - z.max(1, keepdims=True); e = np.exp(z); return e / e.sum(1, keepdims=True)
PT = softmax(tl / T)
def kd_loss(logits, idx):
    N = len(idx)
    lab = y[idx]
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    ce = -logp[np.arange(N), lab].mean()
    d = np.exp(logp); d[np.arange(N), lab] -= 1
    zs = logits / T; zs = zs - zs.max(1, keepdims=True)
    logq = zs - np.log(np.exp(zs).sum(1, keepdims=True))
    pt = PT[idx]
    kl = (pt * (np.log(pt + 1e-30) - logq)).sum(1).mean()
    dkd = (np.exp(logq) - pt) * T  # d/dlogits of T^2 * KL
    loss = (1 - alpha) * ce + alpha * T * T * kl
    return float(loss), (((1 - alpha) * d + alpha * dkd) / N).astype(logits.dtype)
par.softmax_cross_entropy = kd_loss
model = load_model(admm_path)
keep = preset("lenet5-71x")[1]
masks = hard_prune(model, keep)
print("after hard prune", model.accuracy(Xt, yt), flush=True)
model.set_dropout(1.0)
opt = Adam(model.params, lr=1e-3, masks=masks)
rng = np.random.default_rng(1)
idx_all = np.arange(len(X))
hist = []
for ep in range(1, epochs + 1):
    opt.lr = 1e-3 * decay ** (ep - 1)
    t0 = time.perf_counter()
    loss, _ = run_epoch(model, opt, X, idx_all, 50, rng, desc=f"kd {ep}")
    acc = model.accuracy(Xt, yt)
    hist.append({"epoch": ep, "loss": loss, "test_acc": acc, "s": time.perf_counter() - t0})
    print(json.dumps(hist[-1]), flush=True)
from minadmm.model import save_model
save_model(out, model)
