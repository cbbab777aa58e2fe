"""``minadmm prune`` and ``minadmm presets``: command-line options -> a resolved plan -> the pipeline.

Every schedule option defaults to "not given": a preset's value (or ``PruneConfig``'s default without a
preset) holds unless the option is given, and then it is overridden in every round. ``--quick`` cuts the
data and shortens the schedule, but an option given beside it still wins. ``--resume`` continues the run
exactly as its plan.json records it and says which options it ignores.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..errors import InputError
from .common import load_data

ARCHS = ["lenet5", "lenet5_relu", "lenet300_100"]

# (option, PruneConfig field, type, help): each sets one value of the schedule in every round
SCHEDULE_OPTIONS = [
    ("--admm-iters", "admm_iters", "posint", "ADMM iterations"),
    ("--w-epochs", "w_epochs", "posint", "W-step epochs per ADMM iteration"),
    ("--rho-schedule", "rho_schedule", str, "geometric (rho0 growth^k) or balanced (residual balancing, Boyd 3.4.1)"),
    ("--rho", "rho0", "posfloat", "initial rho"),
    ("--rho-growth", "rho_growth", float, "geometric: rho multiplier per iteration (>= 1; 1: constant)"),
    ("--rho-mu", "rho_mu", float, "balanced: change rho when one residual exceeds mu times the other"),
    ("--rho-tau", "rho_tau", float, "balanced: the factor rho changes by"),
    ("--rho-min", "rho_min", "posfloat", "balanced: smallest rho"),
    ("--rho-max", "rho_max", "posfloat", "largest rho"),
    ("--lr", "lr", "posfloat", "W-step Adam learning rate"),
    ("--lr-decay", "admm_lr_decay", "posfloat", "W-step lr factor per ADMM iteration, in (0, 1]"),
    ("--lr-min", "admm_lr_min", float, "W-step lr floor under --lr-decay (0: none)"),
    ("--weight-decay", "weight_decay", float, "W-step L2 coefficient"),
    ("--batch-size", "batch_size", "posint", "mini-batch size"),
    ("--admm-keep", "admm_keep", float, "dropout keep probability in the W-step"),
    ("--admm-shift", "admm_shift", int, "random translations (pixels) in the W-step; 0: none (the paper)"),
    ("--retrain-epochs", "retrain_epochs", int, "masked retraining epochs (0: none)"),
    ("--retrain-lr", "retrain_lr", "posfloat", "masked retraining Adam learning rate"),
    ("--retrain-lr-decay", "retrain_lr_decay", "posfloat", "retraining lr factor per epoch, in (0, 1]"),
    ("--retrain-keep", "retrain_keep", float, "dropout keep probability in retraining"),
    ("--retrain-shift", "retrain_shift", int, "random translations (pixels) in retraining; 0: none (the paper)"),
    ("--distill", "distill", float, "knowledge distillation: weight ALPHA in [0, 1] of the teacher's term; 0: none (the paper)"),
    ("--distill-temp", "distill_temp", float, "distillation temperature T"),
    ("--eps-abs", "eps_abs", float, "Boyd's absolute tolerance"),
    ("--eps-rel", "eps_rel", float, "Boyd's relative tolerance"),
    ("--budget", "budget", int, "one budget of L non-zero weights over all pruned layers (the Z-step chooses each "
                                "layer's count; without --keep: every layer); 0: the per-layer counts of --keep"),
    ("--budget-floor", "budget_floor", int, "with --budget: the fewest weights any layer keeps"),
    ("--quant-bits", "quant_bits", "bits", "quantize too (ADMM-NN): each pruned layer's non-zeros take at most 2^B "
                                           "values; B for every layer, or per layer: conv1=4,fc1=2; 0: none"),
    ("--quant-levels", "quant_levels", str, "with --quant-bits: uniform (alpha, 2 alpha, ...) or pow2 (alpha 2^-j)"),
    ("--quant-retrain", "quant_retrain", str, "with --quant-bits, what retraining trains in each quantized layer: "
                                              "scale (alpha) or codebook (each of its values apart)"),
    ("--seed", "seed", int, "seed of the data order (ADMM) and of retraining (seed + 1)"),
    ("--val", "val", int, "hold out the first VAL training images as a validation split (0: none)"),
]
SWITCHES = [  # (option, PruneConfig field, value it sets, help)
    ("--no-rescale-u", "rescale_U", False, "do not rescale U when rho changes (the authors' code)"),
    ("--distill-admm", "distill_admm", True, "distil in the ADMM W-step too (same ALPHA, T and teacher)"),
    ("--admm-masked", "admm_masked", True, "W-step on the start model's non-zero weights only, the others held at "
                                           "zero (a round that quantizes an already pruned model)"),
    ("--budget-normalise", "budget_normalise", True, "with --budget: rank each layer's weights by |W + U| over the "
                                                     "layer's largest (a heuristic) instead of |W + U| (the projection)"),
    ("--early-stop", "early_stop", True, "stop ADMM once every layer meets Boyd's r <= eps_pri and s <= eps_dual "
                                         "(--admm-iters is then the cap)"),
]
RUN_OPTIONS = {"out", "resume", "overwrite", "data", "no_download", "func", "command"}  # not ignored by --resume


def parse_bits(s):
    """--quant-bits: "3" (every pruned layer) or "conv1=4,fc1=2" -> 3 or {"conv1": 4, "fc1": 2}."""
    try:
        if "=" not in s:
            return int(s)
        return {k.strip(): int(v) for k, v in (item.split("=", 1) for item in s.split(",") if item.strip())}
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r}: expected bits B (e.g. 3) or LAYER=B,... (e.g. conv1=4,fc1=2)") from None


def number(kind):
    if kind == "bits":
        return parse_bits

    def parse(s):
        try:
            v = int(s) if kind == "posint" else float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{s!r} is not {'an integer' if kind == 'posint' else 'a number'}") from None
        if (kind == "posint" and v < 1) or (kind == "posfloat" and not v > 0):
            raise argparse.ArgumentTypeError(f"{s!r} must be {'>= 1' if kind == 'posint' else '> 0'}")
        return v
    return parse


def add_prune_parser(sub, data_args):
    p = sub.add_parser("prune", help="ADMM pruning, hard pruning, masked retraining, report")
    p.add_argument("--preset", help="a recipe by name (minadmm presets lists them), e.g. lenet5-relu-71x")
    p.add_argument("--keep", help="per-layer targets: counts (fc1=3600) or ratios (fc1=0.009), comma-separated")
    p.add_argument("--model", default=None, choices=ARCHS, help="architecture (default: the preset's, or lenet5)")
    p.add_argument("--from", dest="dense", default=None,
                   help="dense model .npz to start from (default: the preset's; without one, pretrain first)")
    p.add_argument("--teacher", default=None, help="teacher model .npz for --distill (default: the dense start)")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--quick", action="store_true",
                   help="a one-minute demo: 6,000 training images, 10 ADMM iterations of 3 epochs, 1 retraining epoch per round")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--overwrite", action="store_true", help="replace a run in --out")
    p.add_argument("--no-baseline", action="store_true", help="skip the magnitude-pruning baseline")
    for option, field, kind, help_text in SCHEDULE_OPTIONS:
        p.add_argument(option, dest=field, type=number(kind) if isinstance(kind, str) else kind, default=None,
                       help=help_text)
    for option, field, value, help_text in SWITCHES:
        p.add_argument(option, dest=field, action="store_const", const=value, default=None, help=help_text)
    data_args(p)
    p.set_defaults(func=cmd_prune)

    s = sub.add_parser("presets", help="list the recipes and what each reproduces")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=cmd_presets)


def given(args):
    """The options given on the command line (their dest names), other than the run-directory ones."""
    return [k for k, v in vars(args).items() if k not in RUN_OPTIONS and v is not None and v is not False]


def resolve_plan(args, command):
    """The plan (pipeline.run.make_plan) that the options describe, every input checked before any work."""
    from ..nn.model import build
    from ..pipeline.presets import find_file, load_preset, override
    from ..pipeline.run import QUICK_SCHEDULE, check_model_files, make_plan
    from ..pruning.config import PruneConfig
    from ..pruning.targets import check_budget, check_keep, check_sets, layer_sizes, parse_keep
    values = {field: getattr(args, field) for _, field, *_ in SCHEDULE_OPTIONS + SWITCHES
              if getattr(args, field) is not None}
    if args.quick:
        values = {**QUICK_SCHEDULE, **values}
    if args.preset:
        preset = override(load_preset(args.preset), values, quick=args.quick)
        arch, rounds = args.model or preset["arch"], preset["rounds"]
        if args.keep:
            if len(rounds) > 1:
                raise InputError(f"--keep: preset {args.preset} has {len(rounds)} rounds with their own targets; "
                                 f"use a one-round preset or --keep without --preset")
            if rounds[0].get("kind") == "sparse_vd":
                raise InputError(f"--keep: preset {args.preset}'s round is sparse variational dropout, which has no targets")
            rounds = [{"keep": parse_keep(args.keep, build(arch)), "config": rounds[0]["config"]}]
        dense = args.dense or (preset["from"] and str(find_file(preset["from"], f"preset {args.preset}'s dense model")))
        baseline = preset["baseline"]
    elif args.keep or values.get("budget"):
        arch = args.model or "lenet5"
        keep = parse_keep(args.keep, build(arch)) if args.keep else layer_sizes(build(arch))  # budget: every layer
        rounds = [{"keep": keep, "config": PruneConfig.from_dict(values)}]
        dense, baseline = args.dense, True
    else:
        raise InputError("give --preset NAME (minadmm presets lists them), --keep LAYER=COUNT,... or --budget L "
                         "(e.g. --preset lenet5-relu-71x)")
    model = build(arch)
    admm_rounds = [r for r in rounds if r.get("kind", "admm") == "admm"]
    if rounds[0].get("kind") == "sparse_vd" and not dense:
        raise InputError("a recipe that starts with sparse variational dropout needs a trained model: give --from MODEL.npz")
    for r in admm_rounds:
        check_keep(r["keep"], model)
        check_budget(r["keep"], r["config"].budget, r["config"].budget_floor, model)
        check_sets(r["keep"], r["config"])
    check_model_files(arch, admm_rounds[0]["config"] if admm_rounds else None, dense, args.teacher)
    return make_plan(arch, rounds, dense, baseline and not args.no_baseline, args.quick, args.preset, command,
                     teacher=args.teacher)


def cmd_prune(args):
    from ..pipeline.rundir import prepare_run_dir
    from ..pipeline.run import run_plan
    command = " ".join(["minadmm"] + sys.argv[1:])
    if args.resume:
        ignored = given(args)
        if ignored:
            print(f"minadmm: --resume continues the run as {Path(args.out) / 'plan.json'} records it; ignoring "
                  + ", ".join("--" + k.replace("_", "-") for k in ignored), file=sys.stderr)
        out = prepare_run_dir(args.out, resume=True, overwrite=False)
        plan = json.loads((out / "plan.json").read_text())
    else:
        plan = resolve_plan(args, command)  # before the run directory is made
        out = prepare_run_dir(args.out, resume=False, overwrite=args.overwrite)
    data = load_data(args)
    t0 = time.perf_counter()
    run_plan(out, plan, data, resume=args.resume)
    print(f"report: {out / 'report.md'}  ({time.perf_counter() - t0:.0f} s)")
    return 0


def cmd_presets(args):
    from ..pipeline.presets import load_preset, preset_names
    from ..pipeline.run import plan_round
    from ..pruning.targets import describe
    presets = [load_preset(n) for n in preset_names()]
    if args.json:
        print(json.dumps([{**p, "rounds": [plan_round(r) for r in p["rounds"]]} for p in presets], indent=1))
        return 0
    for p in presets:
        targets = " -> ".join("sparse VD" if r.get("kind") == "sparse_vd"
                              else ", ".join(f"{k} {describe(v)}" for k, v in r["keep"].items())
                              if any(isinstance(v, str) for v in r["keep"].values())
                              else f"{sum(r['keep'].values()):,} weights" for r in p["rounds"])
        print(f"{p['name']}  ({p['arch']}, {len(p['rounds'])} round{'s' * (len(p['rounds']) > 1)}: {targets})")
        print(f"    reproduces: {p['reproduces'] or 'no committed model'}"
              + (f"  (run: {p['results']})" if p["results"] else ""))
        print(f"    {p['description']}")
    return 0
