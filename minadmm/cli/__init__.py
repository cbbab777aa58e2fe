"""Command line: ``minadmm train``, ``evaluate``, ``prune``, ``presets``, ``sweep``, ``sensitivity`` (also
``python -m minadmm``).

Bad input (an ``InputError``, a missing or unwritable file, MNIST not found, a diverging run) ends in a
one-line ``minadmm: error: ...`` and exit status 2; any other exception is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from ..errors import InputError
from .common import CLIError, data_args, layer_stats, load_data
from .prune import add_prune_parser, number
from .sweep import add_sweep_parser


def cmd_train(args):
    from ..nn.model import build
    from ..train.fit import TrainConfig, fit
    from ..train.records import checkpoint_meta
    out = Path(args.out)
    if (out / "model.npz").exists() and not (args.resume or args.overwrite):
        raise CLIError(f"{out} already holds a trained model; use --resume to continue it, "
                       f"--overwrite to start again, or another --out")
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, lr_decay=args.lr_decay,
                      optimizer=args.optimizer, weight_decay=args.weight_decay, keep=args.keep, shift=args.shift,
                      seed=args.seed, val=args.val)
    model = build(args.model, seed=args.seed)
    data = load_data(args)
    t0 = time.perf_counter()
    history = fit(model, data, cfg, out_dir=out, resume=args.resume)
    wall = time.perf_counter() - t0
    summary = {"model": args.model, "epochs": cfg.epochs, "test_acc": history[-1]["test_acc"],
               "wall_seconds": wall, "params": model.n_params(), "command": " ".join(["minadmm"] + sys.argv[1:]),
               "threads": checkpoint_meta(out / "checkpoint.npz")["threads"]}  # the setting the run started in
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"saved {out / 'model.npz'}: test accuracy {summary['test_acc']:.4f} after {cfg.epochs} epochs, "
          f"{wall:.0f} s")
    return 0


def cmd_evaluate(args):
    from ..nn.model import LENET5_WIDTHS, load_model, model_widths
    from ..sparse.packed import is_packed, packed_stats, unpack
    packed = Path(args.model).is_file() and is_packed(args.model)
    model = unpack(args.model) if packed else load_model(args.model)
    _, _, Xt, yt = load_data(args)
    t0 = time.perf_counter()
    acc = model.accuracy(Xt, yt)
    seconds = time.perf_counter() - t0
    stats = layer_stats(model)
    total = sum(r["weights"] for r in stats)
    nz = sum(r["nonzero"] for r in stats)
    result = {"model": str(args.model), "arch": model.arch, "test_acc": acc, "params": model.n_params(),
              "weights": total, "nonzero_weights": nz, "compression": total / max(nz, 1),
              "layers": stats, "eval_seconds": seconds}
    if packed:
        result["packed"] = packed_stats(args.model)
    widths = model_widths(model)
    if widths is not None and widths != LENET5_WIDTHS:
        result["widths"] = list(widths)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{args.model} ({model.arch}): test accuracy {acc:.4f} on {len(yt)} MNIST test images")
    print(f"parameters {model.n_params():,}; weights {total:,}, non-zero {nz:,} "
          f"({total / max(nz, 1):.1f}x compression)")
    if result.get("widths"):
        print(f"a shrunk LeNet-5: widths {tuple(result['widths'])} (conv1 filters, conv2 filters, fc1 units) of "
              f"{LENET5_WIDTHS}")
    print(f"{'layer':<8}{'weights':>10}{'non-zero':>10}{'kept %':>9}")
    for r in stats:
        print(f"{r['layer']:<8}{r['weights']:>10,}{r['nonzero']:>10,}{r['kept_pct']:>9.2f}")
    if packed:
        print(packed_summary(result["packed"]))
    return 0


def packed_summary(p):
    """Lines for a packed file: per layer bits per non-zero (values, indices), then the totals."""
    lines = [f"packed file: {p['file_bytes']:,} bytes; weight bits {p['weight_value_bits']:,} for {p['nnz']:,} non-zeros "
             f"({p['weight_bits_ratio']:.0f}x fewer than {p['weights']:,} x 32)",
             f"{'layer':<8}{'values':>8}{'bits/value':>12}{'bits/index':>12}"]
    lines += [f"{r['layer']:<8}{r['values']:>8}{r['value_bits']:>12}{r['index_bits_per_nz']:>12.2f}" for r in p["layers"]]
    return "\n".join(lines)


def cmd_pack(args):
    from ..nn.model import load_model
    from ..pruning.quantized import zero_dead_biases
    from ..sparse.packed import pack
    model = load_model(args.model)
    zeroed = zero_dead_biases(model)  # units that reach nothing: no output changes, and no bias to store
    stats = pack(model, args.out)
    dense = Path(args.model).stat().st_size
    stats["file_ratio_to_input"] = dense / stats["file_bytes"]
    stats["dead_biases_zeroed"] = zeroed
    if args.json:
        print(json.dumps(stats, indent=1))
        return 0
    print(f"wrote {args.out}: {stats['file_bytes']:,} bytes, {stats['file_ratio_to_input']:.0f}x smaller than {args.model}")
    print("biases zeroed for units whose outgoing weights are all zero (no output changes): "
          + ", ".join(f"{k} {v}" for k, v in zeroed.items()))
    print(packed_summary(stats))
    return 0


def cmd_sensitivity(args):
    from ..pipeline.sensitivity import check_ratios, sensitivity
    from ..nn.model import load_model
    try:
        ratios = [float(q) for q in args.ratios.split(",")]
    except ValueError:
        raise CLIError(f"--ratios {args.ratios!r}: expected comma-separated keep ratios in (0, 1]") from None
    ratios = check_ratios(ratios)
    load_model(args.dense)  # a bad model file stops here, before MNIST is read
    rows = sensitivity(args.dense, load_data(args), ratios, args.retrain_epochs, args.val, args.seed, args.out,
                       lr=args.retrain_lr)
    print(f"{len(rows)} rows: {Path(args.out) / 'sensitivity.md'}, {Path(args.out) / 'sensitivity.png'}")
    return 0


def build_parser():
    p = argparse.ArgumentParser(prog="minadmm", description="ADMM weight pruning of neural networks")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a dense model on MNIST")
    t.add_argument("--model", default="lenet5", choices=["lenet5", "lenet5_relu", "lenet300_100"])
    t.add_argument("--epochs", type=number('posint'), default=17)
    t.add_argument("--batch-size", type=number('posint'), default=50)
    t.add_argument("--lr", type=number('posfloat'), default=1e-3)
    t.add_argument("--lr-decay", type=number('posfloat'), default=1.0, help="lr factor per epoch, in (0, 1]")
    t.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    t.add_argument("--weight-decay", type=float, default=5e-5, help="L2 coefficient on weights")
    t.add_argument("--keep", type=float, default=0.5, help="dropout keep probability")
    t.add_argument("--shift", type=int, default=0, help="random translations of up to this many pixels; 0: none")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--val", type=int, default=0, help="hold out the first VAL training images as a validation split")
    t.add_argument("--out", required=True, help="run directory")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    t.add_argument("--overwrite", action="store_true", help="start again in an OUT that holds a model")
    data_args(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="test accuracy and per-layer non-zeros of a model file")
    e.add_argument("model", help="a .npz model file, or a packed file (minadmm pack)")
    e.add_argument("--json", action="store_true", help="print JSON")
    data_args(e)
    e.set_defaults(func=cmd_evaluate)

    k = sub.add_parser("pack", help="write a pruned, quantized model as a packed file (codebook, bit-packed "
                                    "codes, relative indices, the float16 biases of the units that reach the "
                                    "output)")
    k.add_argument("model", help="a .npz model file whose layers' non-zeros take at most 256 values each")
    k.add_argument("--out", required=True, help="the packed file to write")
    k.add_argument("--json", action="store_true", help="print JSON")
    k.set_defaults(func=cmd_pack)

    add_prune_parser(sub, data_args)
    add_sweep_parser(sub)

    v = sub.add_parser("sensitivity", help="prune each layer alone by magnitude at several ratios, retrain briefly")
    v.add_argument("--from", dest="dense", required=True, help="the dense model .npz")
    v.add_argument("--ratios", default="0.5,0.2,0.1,0.05,0.02,0.01,0.005", help="keep ratios, comma-separated")
    v.add_argument("--retrain-epochs", type=int, default=1, help="masked retraining epochs after each cut (0: none)")
    v.add_argument("--retrain-lr", type=number("posfloat"), default=1e-4, help="Adam lr of that fine-tune")
    v.add_argument("--val", type=int, default=0, help="hold out the first VAL training images (their accuracy too)")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--out", required=True, help="directory for sensitivity.csv/.md/.json and sensitivity.png")
    data_args(v)
    v.set_defaults(func=cmd_sensitivity)
    return p


def main(argv=None):
    from ..data import MNISTError
    from ..train.epochs import DivergenceError
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (InputError, MNISTError, DivergenceError, FileNotFoundError, FileExistsError, PermissionError,
            IsADirectoryError, NotADirectoryError) as e:
        print(f"minadmm: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("minadmm: interrupted; the last checkpoint in the run directory is kept "
              "(continue with --resume)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that quit early (`minadmm evaluate ... | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
