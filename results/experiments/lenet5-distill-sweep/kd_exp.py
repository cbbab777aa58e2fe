"""Experiment: masked retraining with knowledge distillation from the dense teacher.

python kd_exp.py ADMM_MODEL TEACHER ALPHA T EPOCHS DECAY OUT: hard-prune ADMM_MODEL to the paper's counts, then
EPOCHS of masked Adam (lr 1e-3 x DECAY per epoch, batch 50) on all 60,000 training images with the loss
(1 - ALPHA) CE + ALPHA T^2 KL(p_T || q_T) against TEACHER (minadmm.nn.distill; ALPHA 0: plain cross-entropy);
one JSON line per epoch; the retrained model to OUT.
"""
import json
import sys
import time

import numpy as np

from minadmm.data import load_mnist
from minadmm.nn.distill import distillation_for
from minadmm.nn.model import load_model, save_model
from minadmm.nn.optim import Adam
from minadmm.pruning.retrain import hard_prune
from minadmm.train.epochs import run_epoch

KEEP = {"conv1": 100, "conv2": 2000, "fc1": 3600, "fc2": 350}  # lenet5-71x's last round
admm_path, teacher_path, out = sys.argv[1], sys.argv[2], sys.argv[7]
alpha, T, epochs, decay = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
X, y, Xt, yt = load_mnist(download=False)
teacher = load_model(teacher_path)
print("teacher train acc", teacher.accuracy(X, y), "test", teacher.accuracy(Xt, yt), flush=True)
distill = distillation_for(teacher, alpha, T, X)
model = load_model(admm_path)
masks = hard_prune(model, KEEP)
print("after hard prune", model.accuracy(Xt, yt), flush=True)
model.set_dropout(1.0)
opt = Adam(model.params, lr=1e-3, masks=masks)
rng = np.random.default_rng(1)
for ep in range(1, epochs + 1):
    opt.lr = 1e-3 * decay ** (ep - 1)
    t0 = time.perf_counter()
    loss, _ = run_epoch(model, opt, X, y, 50, rng, desc=f"kd {ep}", distill=distill)
    print(json.dumps({"epoch": ep, "loss": loss, "test_acc": model.accuracy(Xt, yt), "s": time.perf_counter() - t0}),
          flush=True)
save_model(out, model)
