"""Sequential model with named layers, the model zoo and the ``.npz`` model file format.

Parameters and gradients are exposed as flat dicts keyed ``"<layer>.<param>"`` (``"conv1.W"``, ``"fc2.b"``),
the same keys as in a model file.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU

FORMAT_VERSION = 1


class Sequential:
    """Layers applied in order. ``layers`` is a list of (name, layer) pairs; ``arch`` names the zoo entry."""

    def __init__(self, layers, arch=None):
        names = [n for n, _ in layers]
        if len(set(names)) != len(names):
            raise InputError(f"layer names must be unique, got {names}")
        self.layers = list(layers)
        self.arch = arch
        if self.layers:
            self.layers[0][1].input_grad = False

    @property
    def params(self):
        """{"layer.key": array} for every parameter (the arrays themselves, not copies)."""
        return {f"{n}.{k}": v for n, layer in self.layers for k, v in layer.params.items()}

    @property
    def grads(self):
        """{"layer.key": array} gradients from the last ``backward``, same keys as ``params``."""
        return {f"{n}.{k}": v for n, layer in self.layers for k, v in layer.grads.items()}

    def replica(self):
        """A model sharing this one's parameter arrays, with its own gradients, caches and dropout RNGs."""
        return Sequential([(n, layer.replica()) for n, layer in self.layers], arch=self.arch)

    def weight_names(self):
        """Names of the layers that own a weight matrix/tensor "W" (the prunable layers), in order."""
        return [n for n, layer in self.layers if "W" in layer.params]

    def __getitem__(self, name):
        for n, layer in self.layers:
            if n == name:
                return layer
        raise KeyError(f"no layer {name!r}; layers are {[n for n, _ in self.layers]}")

    def train(self):
        for _, layer in self.layers:
            layer.training = True
        return self

    def eval(self):
        for _, layer in self.layers:
            layer.training = False
        return self

    def set_dropout(self, keep):
        """Set the keep probability of every Dropout layer (1.0 turns dropout off)."""
        for _, layer in self.layers:
            if isinstance(layer, Dropout):
                layer.keep = keep

    def forward(self, x):
        for _, layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for _, layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def predict(self, X, batch_size=256):
        """Class predictions (N,) in eval mode, computed in batches (256: about twice as fast as 1,000 here, the
        im2col buffers stay in cache; per-image logits are the same bits); the previous mode is restored."""
        modes = [layer.training for _, layer in self.layers]
        self.eval()
        out = np.concatenate([self.forward(X[i:i + batch_size]).argmax(axis=1)
                              for i in range(0, len(X), batch_size)])
        for (_, layer), mode in zip(self.layers, modes):
            layer.training = mode
        return out

    def accuracy(self, X, y, batch_size=256):
        return float((self.predict(X, batch_size) == y).mean())

    def n_params(self):
        return int(sum(v.size for v in self.params.values()))

    def __repr__(self):
        inner = "\n".join(f"  ({n}): {layer!r}" for n, layer in self.layers)
        return f"Sequential[{self.arch}](\n{inner}\n)"


LENET5_WIDTHS = (20, 50, 500)  # conv1 filters, conv2 filters, fc1 units


def lenet5(seed=0, keep=0.5, dtype=np.float32, conv_relu=False, widths=LENET5_WIDTHS):
    """The LeNet-5 of the paper's recipe (PAPER.md), 431,080 parameters.

    conv1 20@5x5 valid -> pool -> conv2 50@5x5 valid -> pool -> flatten (C, H, W) -> fc1 800->500 -> ReLU
    -> dropout(keep) -> fc2 500->10. No ReLU after the convolutions, as the recipe states.
    ``conv_relu=True`` (architecture "lenet5_relu") adds a ReLU after each convolution, as the authors'
    published TensorFlow model code does; the parameters and their names are the same.
    ``widths`` = (conv1 filters, conv2 filters, fc1 units), (20, 50, 500) by default: other widths give the
    smaller dense networks that structured pruning shrinks to (pruning/shrink.py); fc1 then takes 16 x
    conv2's filters inputs. Input (N, 1, 28, 28) -> logits (N, 10).
    """
    c1, c2, h = check_widths(widths)
    ss = np.random.SeedSequence(seed).spawn(5)
    relu = (lambda name: [(name, ReLU())]) if conv_relu else (lambda name: [])
    return Sequential([
        ("conv1", Conv2D(1, c1, 5, rng=ss[0], dtype=dtype)), *relu("crelu1"),
        ("pool1", MaxPool2D()),
        ("conv2", Conv2D(c1, c2, 5, rng=ss[1], dtype=dtype)), *relu("crelu2"),
        ("pool2", MaxPool2D()),
        ("flatten", Flatten()),
        ("fc1", Dense(16 * c2, h, rng=ss[2], dtype=dtype)),
        ("relu1", ReLU()),
        ("drop1", Dropout(keep, rng=ss[3])),
        ("fc2", Dense(h, 10, rng=ss[4], dtype=dtype)),
    ], arch="lenet5_relu" if conv_relu else "lenet5")


def check_widths(widths):
    """(c1, c2, h) as ints >= 1; raises naming the bad value."""
    if len(widths) != 3 or any(isinstance(w, bool) or int(w) != w or w < 1 for w in widths):
        raise InputError(f"widths={tuple(widths)!r}: expected three integers >= 1 (conv1 filters, conv2 filters, "
                         f"fc1 units)")
    return tuple(int(w) for w in widths)


def lenet5_relu(seed=0, keep=0.5, dtype=np.float32, widths=LENET5_WIDTHS):
    """LeNet-5 with a ReLU after each convolution (the authors' TensorFlow model code); see ``lenet5``."""
    return lenet5(seed=seed, keep=keep, dtype=dtype, conv_relu=True, widths=widths)


def lenet300_100(seed=0, keep=1.0, dtype=np.float32):
    """LeNet-300-100: flatten -> fc1 784->300 -> ReLU -> fc2 300->100 -> ReLU -> fc3 100->10 (266,610 params)."""
    ss = np.random.SeedSequence(seed).spawn(4)
    return Sequential([
        ("flatten", Flatten()),
        ("fc1", Dense(784, 300, rng=ss[0], dtype=dtype)),
        ("relu1", ReLU()),
        ("drop1", Dropout(keep, rng=ss[3])),
        ("fc2", Dense(300, 100, rng=ss[1], dtype=dtype)),
        ("relu2", ReLU()),
        ("fc3", Dense(100, 10, rng=ss[2], dtype=dtype)),
    ], arch="lenet300_100")


ZOO = {"lenet5": lenet5, "lenet5_relu": lenet5_relu, "lenet300_100": lenet300_100}


def build(arch, **kwargs):
    if arch not in ZOO:
        raise InputError(f"unknown architecture {arch!r}; choose one of {sorted(ZOO)}")
    return ZOO[arch](**kwargs)


def model_widths(model):
    """(conv1 filters, conv2 filters, fc1 units) of a LeNet-5, None for other architectures."""
    if model.arch not in ("lenet5", "lenet5_relu"):
        return None
    return (model["conv1"].params["W"].shape[0], model["conv2"].params["W"].shape[0], model["fc1"].params["W"].shape[1])


def save_model(path, model):
    """Write ``model`` to ``path`` (.npz): one array per parameter named "<layer>.W" / "<layer>.b",
    plus "__arch__" (architecture name) and "__format__" (format version), and for a LeNet-5 of other widths
    than (20, 50, 500) "__widths__" (conv1 filters, conv2 filters, fc1 units). Written to a temporary
    file first and renamed, so an interrupted save never leaves a half-written model."""
    import os
    path = str(path)
    tmp = path + ".tmp.npz"
    arrays = {k: np.asarray(v) for k, v in model.params.items()}
    widths = model_widths(model)
    if widths is not None and widths != LENET5_WIDTHS:  # a shrunk LeNet-5: its widths beside its arrays
        arrays["__widths__"] = np.array(widths)
    np.savez(tmp, __arch__=np.array(model.arch), __format__=np.array(FORMAT_VERSION), **arrays)
    os.replace(tmp, path)


def load_model(path, arch=None, **kwargs):
    """Read a model written by ``save_model``. ``arch``, if given, must match the file's architecture.

    Raises FileNotFoundError for a missing file and ValueError naming the problem for a file of another
    architecture, a missing or extra parameter, or a parameter of the wrong shape.
    """
    import os
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file {path} does not exist")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as e:
        raise InputError(f"{path} is not a minadmm model file (.npz): {e}") from e
    with data:
        if "__arch__" not in data:
            raise InputError(f"{path} has no '__arch__' entry: not a minadmm model file")
        file_arch = str(data["__arch__"])
        if arch is not None and file_arch != arch:
            raise InputError(f"{path} holds a {file_arch!r} model, expected {arch!r}")
        if "__widths__" in data.files:
            kwargs = {**kwargs, "widths": tuple(int(w) for w in data["__widths__"])}
        model = build(file_arch, **kwargs)
        params = model.params
        keys = {k for k in data.files if not k.startswith("__")}
        if keys != set(params):
            raise InputError(f"{path}: parameters {sorted(keys)} do not match {file_arch!r}, "
                             f"which has {sorted(params)}")
        for k, v in params.items():
            if data[k].shape != v.shape:
                raise InputError(f"{path}: {k} has shape {data[k].shape}, {file_arch!r} expects {v.shape}")
            v[...] = data[k]
    return model
