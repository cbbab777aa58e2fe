"""Per-layer pruning targets: the paper's counts and ``--keep`` specifications.

A target maps each pruned layer to its keep count l_i (the number of non-zero weights it may keep), or to a
structure (admm/structured.py), written "KIND:K" ("filters:8", "units:100") or "N:M" ("2:4").
"""
from __future__ import annotations

from ..admm.projections import keep_count, topk_mask
from ..admm.structured import Structure
from ..errors import InputError

# The paper's LeNet-5 result (Table 1 of the paper; PAPER.md): weights and kept counts per layer.
PAPER_LENET5 = {"conv1": (500, 100), "conv2": (25_000, 2_000), "fc1": (400_000, 3_600), "fc2": (5_000, 350)}

def layer_sizes(model):
    return {n: model[n].params["W"].size for n in model.weight_names()}


def structure_of(target):
    """The ``Structure`` of a structured target ("filters:8", "2:4"), None for a count."""
    return Structure.parse(target) if isinstance(target, str) else None


def target_mask(W, target, norm="l2"):
    """The support that hard pruning keeps: the l largest |W| for a count, the structure's mask otherwise
    (its groups ranked by Frobenius norm, or by L1 norm with norm="l1": the baseline's ranking)."""
    s = structure_of(target)
    return topk_mask(W, target) if s is None else s.mask(W, norm)


def target_projections(keep):
    """{layer: projection} for the structured layers of ``keep`` (the Z-step's sets; counts: none needed)."""
    return {i: structure_of(t).project for i, t in keep.items() if structure_of(t) is not None}


def describe(target):
    """A target as text: "3,600" or "filters:8"."""
    return f"{target:,}" if isinstance(target, int) else str(target)


def parse_keep(spec, model):
    """Parse "conv1=100,conv2=2000,..." (counts), "conv1=0.2,fc1=0.009" (ratios in [0, 1]) or structures
    ("conv1=filters:8,fc1=units:100", "all=2:4": every prunable layer) into {layer: count or structure
    text}. A value with a decimal point or exponent is a ratio, rounded by ``keep_count``; a plain integer
    is a count; a value with a colon a structure. Raises ValueError naming the bad layer or value."""
    sizes = layer_sizes(model)
    keep = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        if "=" not in item:
            raise InputError(f"--keep item {item!r}: expected LAYER=COUNT, LAYER=RATIO or LAYER=STRUCTURE, e.g. "
                             f"fc1=3600, fc1=0.009, conv1=filters:8 or all=2:4")
        name, value = (s.strip() for s in item.split("=", 1))
        if name == "all":
            if ":" not in value:
                raise InputError(f"--keep all={value}: 'all' takes a structure that fits every layer, such as 2:4")
            for layer in sizes:
                if layer in keep:
                    raise InputError(f"--keep: layer {layer!r} given twice (all= names every layer)")
                keep[layer] = str(Structure.parse(value))
            continue
        if name not in sizes:
            raise InputError(f"--keep: unknown layer {name!r}; prunable layers of {model.arch} are {list(sizes)}")
        if name in keep:
            raise InputError(f"--keep: layer {name!r} given twice")
        try:
            if ":" in value:
                keep[name] = str(Structure.parse(value))  # raises InputError naming the structure
            elif any(c in value for c in ".eE"):
                ratio = float(value)
                if not 0.0 <= ratio <= 1.0:
                    raise InputError(f"--keep {name}={value}: a ratio must be in [0, 1]")
                keep[name] = keep_count(ratio, sizes[name])
            else:
                keep[name] = int(value)
        except ValueError as e:
            if "ratio must" in str(e) or ":" in value:
                raise
            raise InputError(f"--keep {name}={value!r}: expected an integer count or a ratio in [0, 1]") from None
    if not keep:
        raise InputError(f"--keep {spec!r} names no layer")
    return check_keep(keep, model)


def check_keep(keep, model):
    """Validate {layer: count or structure} against ``model``; returns it. Raises ValueError on an unknown
    layer, a count outside [0, layer size] or a structure that does not fit the layer."""
    sizes = layer_sizes(model)
    for name, count in keep.items():
        if name not in sizes:
            raise InputError(f"unknown layer {name!r}; prunable layers of {model.arch} are {list(sizes)}")
        if isinstance(count, str):
            structure_of(count).check(model[name].params["W"].shape, name)
            continue
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InputError(f"keep count for {name} is {count!r}: expected a non-negative integer")
        if count > sizes[name]:
            raise InputError(f"keep count {count} for {name} exceeds its {sizes[name]} weights")
    return dict(keep)


def check_budget(keep, budget, floor, model):
    """Validate a global budget of ``budget`` non-zeros over the layers of ``keep`` (0: none), each layer
    keeping at least ``floor``: the budget must fit every layer's floor and at most the layers' weights."""
    if not budget:
        return
    sizes = layer_sizes(model)
    total = sum(sizes[name] for name in keep)
    if budget > total:
        raise InputError(f"--budget {budget} exceeds the {total:,} weights of the pruned layers {list(keep)}")
    if floor * len(keep) > budget:
        raise InputError(f"--budget {budget} cannot give each of the {len(keep)} pruned layers its --budget-floor "
                         f"{floor} (needs at least {floor * len(keep)})")


def check_sets(keep, cfg):
    """Raise when a round combines a structured target with what needs counts: a budget, or quantization of
    that layer."""
    structured = [i for i, t in keep.items() if isinstance(t, str)]
    if structured and cfg.budget:
        raise InputError(f"a budget needs per-layer counts; {structured[0]}={keep[structured[0]]} is a structure")
    quantized = cfg.quantizers(keep)  # raises on a layer that is not pruned
    both = [i for i in structured if i in quantized]
    if both:
        raise InputError(f"quantizing a structured layer is not supported: {both[0]}={keep[both[0]]} with "
                         f"quant_bits; quantize layers with count targets")
