"""Command line: ``minadmm train``, ``minadmm evaluate``, ``minadmm prune`` (also ``python -m minadmm``).

Bad arguments and bad input files end in a one-line ``minadmm: error: ...`` and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


class CLIError(Exception):
    pass


def _positive_int(s):
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{s!r} must be >= 1")
    return v


def _positive_float(s):
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"{s!r} must be > 0")
    return v


def _data_args(p):
    p.add_argument("--data", default=None,
                   help="MNIST directory (default: $MINADMM_DATA, else ~/.cache/minadmm/mnist)")
    p.add_argument("--no-download", action="store_true", help="never try to download MNIST")


def _load_data(args):
    from .data import load_mnist
    return load_mnist(args.data, download=not args.no_download)


def layer_stats(model):
    """Per prunable layer: weights, non-zero weights, kept %. Returns a list of dicts."""
    rows = []
    for name in model.weight_names():
        W = model[name].params["W"]
        nz = int(np.count_nonzero(W))
        rows.append({"layer": name, "weights": int(W.size), "nonzero": nz, "kept_pct": 100.0 * nz / W.size})
    return rows


def cmd_train(args):
    from .model import build
    from .train import TrainConfig, fit
    out = Path(args.out)
    if (out / "model.npz").exists() and not (args.resume or args.overwrite):
        raise CLIError(f"{out} already holds a trained model; use --resume to continue it, "
                       f"--overwrite to start again, or another --out")
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, lr_decay=args.lr_decay,
                      optimizer=args.optimizer, weight_decay=args.weight_decay, keep=args.keep, shift=args.shift,
                      seed=args.seed)
    model = build(args.model, seed=args.seed)
    data = _load_data(args)
    t0 = time.perf_counter()
    history = fit(model, data, cfg, out_dir=out, resume=args.resume)
    wall = time.perf_counter() - t0
    summary = {"model": args.model, "epochs": cfg.epochs, "test_acc": history[-1]["test_acc"],
               "wall_seconds": wall, "params": model.n_params(), "command": " ".join(["minadmm"] + sys.argv[1:])}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"saved {out / 'model.npz'}: test accuracy {summary['test_acc']:.4f} after {cfg.epochs} epochs, "
          f"{wall:.0f} s")
    return 0


def cmd_evaluate(args):
    from .model import load_model
    model = load_model(args.model)
    _, _, Xt, yt = _load_data(args)
    t0 = time.perf_counter()
    acc = model.accuracy(Xt, yt)
    seconds = time.perf_counter() - t0
    stats = layer_stats(model)
    total = sum(r["weights"] for r in stats)
    nz = sum(r["nonzero"] for r in stats)
    result = {"model": str(args.model), "arch": model.arch, "test_acc": acc, "params": model.n_params(),
              "weights": total, "nonzero_weights": nz, "compression": total / max(nz, 1),
              "layers": stats, "eval_seconds": seconds}
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{args.model} ({model.arch}): test accuracy {acc:.4f} on {len(yt)} MNIST test images")
    print(f"parameters {model.n_params():,}; weights {total:,}, non-zero {nz:,} "
          f"({total / max(nz, 1):.1f}x compression)")
    print(f"{'layer':<8}{'weights':>10}{'non-zero':>10}{'kept %':>9}")
    for r in stats:
        print(f"{r['layer']:<8}{r['weights']:>10,}{r['nonzero']:>10,}{r['kept_pct']:>9.2f}")
    return 0


def cmd_prune(args):
    from .model import build
    from .pipeline import check_model_files, prepare_run_dir, prune_run, quick_config
    from .prune import PruneConfig
    from .targets import parse_keep, preset
    if not args.resume:
        if (args.preset is None) == (args.keep is None):
            raise CLIError("give exactly one of --preset NAME or --keep LAYER=COUNT,... (e.g. --preset lenet5-71x)")
        if args.preset:
            arch, keep = preset(args.preset, args.model)
        else:
            arch = args.model or "lenet5"
            keep = parse_keep(args.keep, build(arch))
        cfg = PruneConfig(admm_iters=args.admm_iters, w_epochs=args.w_epochs, rho0=args.rho,
                          rho_growth=args.rho_growth, rho_max=max(args.rho_max, args.rho),
                          rescale_U=not args.no_rescale_u, lr=args.lr, admm_lr_decay=args.lr_decay,
                          weight_decay=args.weight_decay,
                          batch_size=args.batch_size, retrain_keep=args.retrain_keep,
                          admm_shift=args.admm_shift, retrain_shift=args.retrain_shift,
                          retrain_epochs=args.retrain_epochs, retrain_lr=args.retrain_lr,
                          retrain_lr_decay=args.retrain_lr_decay, distill=args.distill,
                          distill_temp=args.distill_temp, distill_admm=args.distill_admm, eps_abs=args.eps_abs, eps_rel=args.eps_rel,
                          early_stop=args.early_stop, seed=args.seed)
        if args.quick:
            cfg = quick_config(cfg)
        check_model_files(arch, cfg, args.dense, args.teacher)  # before the run directory is made
    else:
        arch = keep = cfg = None
    out = prepare_run_dir(args.out, args.resume, args.overwrite)
    data = _load_data(args)
    t0 = time.perf_counter()
    report = prune_run(out, arch, keep, cfg, dense_path=args.dense, data=data, quick=args.quick,
                       resume=args.resume, baseline=not args.no_baseline, command=" ".join(["minadmm"] + sys.argv[1:]),
                       teacher_path=args.teacher)
    print(f"report: {out / 'report.md'}  ({time.perf_counter() - t0:.0f} s)")
    return 0 if report else 1


def add_prune_parser(sub):
    from .prune import PruneConfig
    d = PruneConfig()  # the defaults shown by --help
    p = sub.add_parser("prune", help="ADMM pruning, hard pruning, masked retraining, report")
    p.add_argument("--preset", help="named targets, e.g. lenet5-71x (the paper's 100/2000/3600/350)")
    p.add_argument("--keep", help="per-layer targets: counts (fc1=3600) or ratios (fc1=0.009), comma-separated")
    p.add_argument("--model", default=None, choices=["lenet5", "lenet5_relu", "lenet300_100"], help="architecture (with --keep)")
    p.add_argument("--from", dest="dense", default=None, help="dense model .npz (default: pretrain one first)")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--quick", action="store_true", help="tiny demo: 6,000 images, 3 ADMM iterations, 1 retrain epoch")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--overwrite", action="store_true", help="replace a run in --out")
    p.add_argument("--no-baseline", action="store_true", help="skip the magnitude-pruning baseline")
    p.add_argument("--admm-iters", type=_positive_int, default=d.admm_iters)
    p.add_argument("--w-epochs", type=_positive_int, default=d.w_epochs, help="W-step epochs per ADMM iteration")
    p.add_argument("--rho", type=_positive_float, default=d.rho0, help="initial rho")
    p.add_argument("--rho-growth", type=float, default=d.rho_growth, help="rho multiplier per iteration (>= 1)")
    p.add_argument("--rho-max", type=_positive_float, default=d.rho_max)
    p.add_argument("--no-rescale-u", action="store_true", help="do not rescale U when rho changes (authors' code)")
    p.add_argument("--lr", type=_positive_float, default=d.lr, help="W-step Adam learning rate")
    p.add_argument("--lr-decay", type=_positive_float, default=d.admm_lr_decay,
                   help="W-step lr factor per ADMM iteration, in (0, 1]")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay, help="W-step L2 coefficient")
    p.add_argument("--batch-size", type=_positive_int, default=d.batch_size)
    p.add_argument("--retrain-keep", type=float, default=d.retrain_keep, help="dropout keep in retraining")
    p.add_argument("--admm-shift", type=int, default=d.admm_shift,
                   help="random translations (pixels) in the W-step; 0: none (the paper)")
    p.add_argument("--retrain-shift", type=int, default=d.retrain_shift,
                   help="random translations (pixels) in masked retraining and the baseline's; 0: none (the paper)")
    p.add_argument("--retrain-epochs", type=int, default=d.retrain_epochs)
    p.add_argument("--retrain-lr", type=_positive_float, default=d.retrain_lr)
    p.add_argument("--retrain-lr-decay", type=_positive_float, default=d.retrain_lr_decay)
    p.add_argument("--distill", type=float, default=d.distill, metavar="ALPHA",
                   help="knowledge distillation in retraining (and the baseline's): weight in [0, 1] of the "
                        "teacher's term; 0: none (the paper)")
    p.add_argument("--distill-temp", type=float, default=d.distill_temp, metavar="T",
                   help="distillation temperature")
    p.add_argument("--distill-admm", action="store_true",
                   help="distil in the ADMM W-step too (same ALPHA, T and teacher)")
    p.add_argument("--teacher", default=None,
                   help="teacher model .npz for --distill (default: the dense starting model)")
    p.add_argument("--eps-abs", type=float, default=d.eps_abs)
    p.add_argument("--eps-rel", type=float, default=d.eps_rel)
    p.add_argument("--early-stop", action="store_true", help="stop ADMM when every layer meets eps_pri, eps_dual")
    p.add_argument("--seed", type=int, default=d.seed)
    _data_args(p)
    p.set_defaults(func=cmd_prune)


def build_parser():
    p = argparse.ArgumentParser(prog="minadmm", description="ADMM weight pruning of neural networks")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a dense model on MNIST")
    t.add_argument("--model", default="lenet5", choices=["lenet5", "lenet5_relu", "lenet300_100"])
    t.add_argument("--epochs", type=_positive_int, default=17)
    t.add_argument("--batch-size", type=_positive_int, default=50)
    t.add_argument("--lr", type=_positive_float, default=1e-3)
    t.add_argument("--lr-decay", type=_positive_float, default=1.0, help="lr factor per epoch, in (0, 1]")
    t.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    t.add_argument("--weight-decay", type=float, default=5e-5, help="L2 coefficient on weights")
    t.add_argument("--keep", type=float, default=0.5, help="dropout keep probability")
    t.add_argument("--shift", type=int, default=0, help="random translations of up to this many pixels; 0: none")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", required=True, help="run directory")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    t.add_argument("--overwrite", action="store_true", help="start again in an OUT that holds a model")
    _data_args(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="test accuracy and per-layer non-zeros of a model file")
    e.add_argument("model", help="a .npz model file")
    e.add_argument("--json", action="store_true", help="print JSON")
    _data_args(e)
    e.set_defaults(func=cmd_evaluate)

    add_prune_parser(sub)
    return p


def main(argv=None):
    from .data import MNISTError
    from .train import DivergenceError
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (CLIError, ValueError, FileNotFoundError, MNISTError, DivergenceError) as e:
        print(f"minadmm: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("minadmm: interrupted; the last checkpoint in the run directory is kept "
              "(continue with --resume)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that quit early (`minadmm evaluate ... | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
