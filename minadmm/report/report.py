"""The pruning report (JSON and Markdown): per layer weights, kept, kept %, the paper's figure beside ours,
total compression, accuracies and wall times."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..pruning.targets import PAPER_LENET5, describe


def layer_rows(model, keep):
    rows = []
    for name in model.weight_names():
        W = model[name].params["W"]
        nz = int(np.count_nonzero(W))
        row = {"layer": name, "weights": int(W.size), "kept": nz, "target": keep.get(name, int(W.size)),
               "kept_pct": 100.0 * nz / W.size}
        if model.arch.startswith("lenet5") and name in PAPER_LENET5:
            row["paper_kept"] = PAPER_LENET5[name][1]
            row["paper_kept_pct"] = 100.0 * PAPER_LENET5[name][1] / PAPER_LENET5[name][0]
        rows.append(row)
    return rows


def convergence(admm_rows):
    """Per layer, from the ADMM history: the first iteration at which r <= eps_pri and s <= eps_dual held
    (None if never), whether they hold at the last iteration, and the last r, eps_pri, s, eps_dual, rho."""
    out = {}
    for row in admm_rows:
        c = out.setdefault(row["layer"], {"converged_at": None})
        met = row["r"] <= row["eps_pri"] and row["s"] <= row["eps_dual"]
        if met and c["converged_at"] is None:
            c["converged_at"] = row["k"]
        c.update(met_at_end=met, iterations=row["k"], **{k: row[k] for k in ("r", "eps_pri", "s", "eps_dual", "rho")})
    return out


def build_report(model, keep, accuracies, seconds, config, command, baseline_acc=None, admm_rows=None,
                 val_accuracies=None):
    layers = layer_rows(model, keep)
    total = sum(r["weights"] for r in layers)
    kept = sum(r["kept"] for r in layers)
    report = {"arch": model.arch, "layers": layers, "weights": total, "kept": kept,
              "compression": total / max(kept, 1), "params": model.n_params(),
              "nonzero_params": kept + sum(v.size for k, v in model.params.items() if not k.endswith(".W")),
              "accuracy": accuracies, "baseline_magnitude_acc": baseline_acc,
              "seconds": seconds, "config": config, "command": command}
    if admm_rows:
        report["convergence"] = convergence(admm_rows)
    if val_accuracies:
        report["val_accuracy"] = val_accuracies
    report["compression_with_biases"] = report["params"] / max(report["nonzero_params"], 1)
    if model.arch.startswith("lenet5"):
        report["paper"] = {"kept": 6050, "compression": 71.2, "test_acc": 0.992}
    return report


def to_markdown(report):
    acc = report["accuracy"]
    title = "sparse variational dropout" if report.get("kind") == "sparse_vd" else "ADMM pruning"
    lines = [f"# {title} report: {report['arch']}", "",
             f"Command: `{report['command']}`", "",
             "| layer | weights | kept | kept % | paper kept | paper kept % |", "|---|---:|---:|---:|---:|---:|"]
    for r in report["layers"]:
        paper = f"{r['paper_kept']:,} | {r['paper_kept_pct']:.2f}%" if "paper_kept" in r else "- | -"
        lines.append(f"| {r['layer']} | {r['weights']:,} | {r['kept']:,} | {r['kept_pct']:.2f}% | {paper} |")
    lines.append(f"| **total** | {report['weights']:,} | {report['kept']:,} | "
                 f"{100 * report['kept'] / report['weights']:.2f}% | "
                 + ("6,050 | 1.41% |" if report["arch"].startswith("lenet5") else "- | - |"))
    cfg = report.get("config", {})
    if cfg.get("budget"):
        ranking = "|W + U| over its layer's largest" if cfg.get("budget_normalise") else "|W + U|"
        lines += ["", f"One budget of {cfg['budget']:,} non-zero weights over all pruned layers (each keeping at least "
                      f"{cfg.get('budget_floor', 0)}, ranked by {ranking}): the per-layer counts above are the ones "
                      "the Z-step chose."]
    paper_c = f" (paper: {report['paper']['compression']}x)" if "paper" in report else ""
    lines += ["", f"Compression (weights): **{report['compression']:.1f}x**{paper_c}",
              f"Compression counting biases as unpruned parameters: {report['compression_with_biases']:.1f}x", "",
              "| test accuracy | value |", "|---|---:|"]
    for k, v in acc.items():
        lines.append(f"| {k.replace('_', ' ')} | {100 * v:.2f}% |")
    if report.get("baseline_magnitude_acc") is not None:
        lines.append(f"| magnitude pruning, same targets and retraining | {100 * report['baseline_magnitude_acc']:.2f}% |")
    if "paper" in report:
        lines.append(f"| paper (ADMM, after retraining) | {100 * report['paper']['test_acc']:.1f}% |")
    if report.get("val_accuracy"):
        lines += ["", f"Validation split ({report['config'].get('val', 0):,} training images held out):", "",
                  "| validation accuracy | value |", "|---|---:|"]
        lines += [f"| {k.replace('_', ' ')} | {100 * v:.2f}% |" for k, v in report["val_accuracy"].items()]
    if report.get("packed"):
        lines += packed_markdown(report["packed"], report.get("quantization", {}))
    if report.get("convergence"):
        cfg = report["config"]
        lines += ["", f"ADMM convergence (Boyd: r <= eps_pri and s <= eps_dual, eps_abs {cfg.get('eps_abs')}, "
                      f"eps_rel {cfg.get('eps_rel')}), at the last iteration:", "",
                  "| layer | iterations | first met at | met at the end | r | eps_pri | s | eps_dual | rho |",
                  "|---|---:|---:|---|---:|---:|---:|---:|---:|"]
        for name, c in report["convergence"].items():
            lines.append(f"| {name} | {c['iterations']} | {c['converged_at'] or 'never'} | "
                         f"{'yes' if c['met_at_end'] else 'no'} | {c['r']:.3g} | {c['eps_pri']:.3g} | {c['s']:.3g} | "
                         f"{c['eps_dual']:.3g} | {c['rho']:.3g} |")
    if report.get("threads"):
        t = report["threads"]
        lines += ["", f"Threads (the floating-point order: another setting gives other bits): {t['workers']} gradient "
                      f"workers, {t['blas_threads']} BLAS, {t['numba_threads']} numba."]
    if report.get("platform"):
        p = report["platform"]
        lines += ["", f"Platform (another CPU or BLAS build may give other bits): {p['cpu']}; BLAS {p['blas']}; "
                      f"numpy {p['numpy']}, numba {p['numba']}, Python {p['python']}."]
    lines += ["", "| stage | seconds |", "|---|---:|"]
    lines += [f"| {k} | {v:.0f} |" for k, v in report["seconds"].items()]
    lines += ["", "Configuration:", "", "```json", json.dumps(report["config"], indent=1), "```", ""]
    return "\n".join(lines)


def packed_markdown(p, quantization):
    """Lines for a quantized round's packed file (``pipeline.run.pack_and_check``): its two ratios, then per
    layer the set it was quantized to (``quantization_summary``) and the bits per non-zero it spends on
    values and on indices."""
    lines = ["", f"Packed file (`model.mpk`, docs/formats.md): {p['file_bytes']:,} bytes, **{p['file_ratio']:.0f}x** "
                 f"smaller than the dense float32 file ({p['dense_file_bytes']:,} bytes); weight bits "
                 f"{p['weight_value_bits']:,} for {p['nnz']:,} non-zeros, **{p['weight_bits_ratio']:,.0f}x** fewer "
                 f"than {p['weights']:,} x 32; read back, test accuracy {100 * p['test_acc']:.2f}%.", "",
             "| layer | bits, levels, retraining | non-zeros | distinct values | bits per value | bits per index |",
             "|---|---|---:|---:|---:|---:|"]
    for r in p["layers"]:
        q = quantization.get(r["layer"])
        quant = f"{q['bits']}, {q['levels']}, {q.get('retrain', 'scale')}" if q else "not quantized"
        lines.append(f"| {r['layer']} | {quant} | {r['nnz']:,} | {r['values']} | {r['value_bits']} | "
                     f"{r['index_bits_per_nz']:.2f} |")
    return lines


def write_report(report, out_dir):
    out_dir = Path(out_dir)
    (out_dir / "report.json").write_text(json.dumps(report, indent=1))
    (out_dir / "report.md").write_text(to_markdown(report))


def rounds_markdown(report):
    """The report of a recipe with several rounds: a row per round, then the last round's report."""
    pct = lambda v: "" if v is None else f"{100 * v:.2f}%"
    lines = [f"# Pruning in {len(report['rounds'])} rounds: {report['arch']}", "",
             f"Command: `{report['command']}`", "",
             "| round | targets | kept | compression | test accuracy | validation accuracy | "
             "magnitude baseline (same targets and retraining) | minutes |", "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in report["rounds"]:
        targets = "sparse variational dropout (log alpha < threshold)" if r.get("kind") == "sparse_vd" else \
            ", ".join(f"{k} {describe(v)}" for k, v in r["keep"].items())
        lines.append(f"| {r['round']} | {targets} | {r['kept']:,} | {r['compression']:.1f}x | "
                     f"{pct(r['accuracy'])} | {pct(r.get('val_accuracy'))} | {pct(r.get('baseline_acc'))} | "
                     f"{r['minutes']:.1f} |")
    last = to_markdown(report).split("\n", 1)[1]
    return "\n".join(lines) + "\n\n## Last round\n" + last
