"""Per-layer pruning targets: the paper's counts and ``--keep`` specifications.

A target maps each pruned layer to its keep count l_i (the number of non-zero weights it may keep).
"""
from __future__ import annotations

from ..admm.projections import keep_count
from ..errors import InputError

# The paper's LeNet-5 result (Table 1 of the paper; PAPER.md): weights and kept counts per layer.
PAPER_LENET5 = {"conv1": (500, 100), "conv2": (25_000, 2_000), "fc1": (400_000, 3_600), "fc2": (5_000, 350)}

def layer_sizes(model):
    return {n: model[n].params["W"].size for n in model.weight_names()}


def parse_keep(spec, model):
    """Parse "conv1=100,conv2=2000,..." (counts) or "conv1=0.2,fc1=0.009" (ratios in [0, 1]) into
    {layer: count}. A value with a decimal point or exponent is a ratio, rounded by ``keep_count``;
    a plain integer is a count. Raises ValueError naming the bad layer or value."""
    sizes = layer_sizes(model)
    keep = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        if "=" not in item:
            raise InputError(f"--keep item {item!r}: expected LAYER=COUNT or LAYER=RATIO, e.g. fc1=3600 or fc1=0.009")
        name, value = (s.strip() for s in item.split("=", 1))
        if name not in sizes:
            raise InputError(f"--keep: unknown layer {name!r}; prunable layers of {model.arch} are {list(sizes)}")
        if name in keep:
            raise InputError(f"--keep: layer {name!r} given twice")
        try:
            if any(c in value for c in ".eE"):
                ratio = float(value)
                if not 0.0 <= ratio <= 1.0:
                    raise InputError(f"--keep {name}={value}: a ratio must be in [0, 1]")
                keep[name] = keep_count(ratio, sizes[name])
            else:
                keep[name] = int(value)
        except ValueError as e:
            if "ratio must" in str(e):
                raise
            raise InputError(f"--keep {name}={value!r}: expected an integer count or a ratio in [0, 1]") from None
    if not keep:
        raise InputError(f"--keep {spec!r} names no layer")
    return check_keep(keep, model)


def check_keep(keep, model):
    """Validate {layer: count} against ``model``; returns it. Raises ValueError on an unknown layer or a
    count outside [0, layer size]."""
    sizes = layer_sizes(model)
    for name, count in keep.items():
        if name not in sizes:
            raise InputError(f"unknown layer {name!r}; prunable layers of {model.arch} are {list(sizes)}")
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
