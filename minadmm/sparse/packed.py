"""The packed model file (``minadmm-packed-2``): a pruned and quantized model at its honest size on disk
(Han et al., Deep Compression, 2016: codebook + bit-packed codes + relative indices).

Per pruned layer, its non-zero weights in C order (the flat positions of a dense-layout ``W``):

    codebook   the layer's distinct non-zero values, float32, increasing (at most 2^b of them)
    codes      each non-zero's index into the codebook, b bits each, bit-packed (b = ceil(log2 |codebook|),
               at least 1)
    indices    relative positions, p bits per token: a token d in 1..2^p - 1 advances d places and puts the
               next non-zero there (the first from place -1); the token 0 advances 2^p - 1 places and puts
               nothing (a filler, for gaps longer than 2^p - 1). p is chosen per layer for the fewest bits.
    biases     the non-zero biases: their positions as relative tokens (as the weights' indices, q bits per
               token, q chosen the same way), then their values in float16. A unit whose outgoing weights
               are all zero reaches nothing, and a quantized pruning run sets its bias to zero
               (``pruning.quantized.zero_dead_biases``), so the file stores no bias for it.

Layout of the file, little-endian: the 8 bytes ``MNADMMPK``; the header: a byte with the format version
(2), a byte L and the L bytes of the architecture's name (ASCII), a byte with the number of layers, and per
layer in the architecture's order (``Sequential.weight_names``) a ``RECORD`` of 23 bytes: nnz (uint32),
value_bits b (uint8), index_bits p (uint8), tokens (uint32), codebook size (uint32), bias_nnz (uint32),
bias_index_bits q (uint8), bias_tokens (uint32); then per layer: codebook (4 bytes each), codes, indices,
bias indices, bias values (2 bytes each), each section's length following from the header
(``section_bytes``). The layers' names and shapes come from the architecture (``nn.model.build``).

``pack(model)`` requires that a layer's non-zeros take at most 2^8 values and that its biases are exactly
float16 numbers (so the file holds the model exactly: ``unpack(pack(model))`` predicts as it does); a
quantized pruning run saves such models (pruning/quantized.py).
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..nn.model import build

FORMAT = "minadmm-packed-2"
VERSION = 2
MAGIC = b"MNADMMPK"
FIELDS = ("nnz", "value_bits", "index_bits", "tokens", "codebook", "bias_nnz", "bias_index_bits", "bias_tokens")
RECORD = struct.Struct("<IBBIIIBI")  # FIELDS, one record per layer
MAX_VALUE_BITS = 8
MAX_INDEX_BITS = 24


def bitpack(values, bits):
    """The integers ``values`` (each in [0, 2^bits)) as ceil(n bits / 8) bytes, bits most-significant first."""
    values = np.asarray(values, dtype=np.int64)
    if values.size and (values.min() < 0 or values.max() >= 2 ** bits):
        raise InputError(f"cannot pack values in [{values.min()}, {values.max()}] into {bits} bits")
    shifts = np.arange(bits - 1, -1, -1, dtype=np.int64)
    return np.packbits(((values[:, None] >> shifts) & 1).astype(np.uint8).reshape(-1)).tobytes()


def bitunpack(data, bits, n):
    """The n integers of ``bitpack(values, bits)``; int64 (n,)."""
    flat = np.unpackbits(np.frombuffer(data, dtype=np.uint8))[:n * bits].reshape(n, bits).astype(np.int64)
    return flat @ (1 << np.arange(bits - 1, -1, -1, dtype=np.int64))


def relative_tokens(positions, p):
    """The index tokens of the increasing flat ``positions`` with p-bit tokens (module docstring)."""
    gaps = np.diff(np.concatenate([[-1], np.asarray(positions, dtype=np.int64)]))
    step = 2 ** p - 1
    fillers = (gaps - 1) // step  # fillers before each non-zero, so that its own token is in 1..step
    tokens = np.zeros(int(fillers.sum()) + gaps.size, dtype=np.int64)
    at = np.cumsum(fillers + 1) - 1  # where each non-zero's own token goes
    tokens[at] = gaps - fillers * step
    return tokens


def absolute_positions(tokens, p):
    """Inverse of ``relative_tokens``: the flat positions."""
    tokens = np.asarray(tokens, dtype=np.int64)
    step = 2 ** p - 1
    place = np.cumsum(np.where(tokens == 0, step, tokens)) - 1
    return place[tokens != 0]


def index_bits(positions):
    """(p, tokens) with the fewest p * tokens over p in 1..MAX_INDEX_BITS."""
    best = None
    for p in range(1, MAX_INDEX_BITS + 1):
        t = relative_tokens(positions, p)
        if best is None or p * t.size < best[0] * best[1].size:
            best = (p, t)
    return best


def _layer_sections(name, W, b):
    flat = W.reshape(-1)
    positions = np.flatnonzero(flat)
    values = flat[positions]
    codebook = np.unique(values).astype(np.float32)
    if codebook.size > 2 ** MAX_VALUE_BITS:
        raise InputError(f"layer {name}: its non-zeros take {codebook.size} distinct values; the packed format "
                         f"holds at most {2 ** MAX_VALUE_BITS} (quantize it first: minadmm prune --quant-bits)")
    b16 = b.astype(np.float16)
    if not np.array_equal(b16.astype(b.dtype), b):
        raise InputError(f"layer {name}: its biases are not float16 numbers; the packed format stores them in "
                         f"half precision (a quantized pruning run rounds them)")
    vbits = max(1, int(np.ceil(np.log2(max(codebook.size, 1)))))
    codes = np.searchsorted(codebook, values)
    p, tokens = sparse_tokens(positions)
    live = np.flatnonzero(b16)
    q, bias_tokens = sparse_tokens(live)
    head = {"name": name, "nnz": int(positions.size), "value_bits": vbits, "index_bits": p,
            "tokens": int(tokens.size), "codebook": int(codebook.size),
            "bias_nnz": int(live.size), "bias_index_bits": q, "bias_tokens": int(bias_tokens.size)}
    sections = [codebook.astype("<f4").tobytes(), bitpack(codes, vbits), bitpack(tokens, p), bitpack(bias_tokens, q),
                b16[live].astype("<f2").tobytes()]
    return head, sections


def section_bytes(head):
    """The lengths in bytes of a layer's five sections, from its header entry: codebook, codes, indices, bias
    indices, bias values."""
    return [4 * head["codebook"], packed_bytes(head["nnz"], head["value_bits"]),
            packed_bytes(head["tokens"], head["index_bits"]), packed_bytes(head["bias_tokens"], head["bias_index_bits"]),
            2 * head["bias_nnz"]]


def packed_bytes(n, bits):
    """ceil(n bits / 8): the length of ``bitpack`` of n values."""
    return -(-n * bits // 8)


def sparse_tokens(positions):
    """(p, tokens) of ``index_bits`` for the increasing flat ``positions``; (1, no tokens) when there are none."""
    return index_bits(positions) if len(positions) else (1, np.zeros(0, dtype=np.int64))


def pack(model, path):
    """Write ``model`` (dense layout, pruned and quantized) to ``path``; returns ``packed_stats``."""
    layers, body = [], []
    for name in model.weight_names():
        head, sections = _layer_sections(name, model[name].params["W"], model[name].params["b"])
        assert [len(s) for s in sections] == section_bytes(head)
        layers.append(head)
        body.extend(sections)
    arch = model.arch.encode("ascii")
    header = bytes([VERSION, len(arch)]) + arch + bytes([len(layers)]) + b"".join(
        RECORD.pack(*(h[f] for f in FIELDS)) for h in layers)
    tmp = Path(str(path) + ".tmp")
    tmp.write_bytes(MAGIC + header + b"".join(body))
    tmp.replace(path)
    return packed_stats(path)


def is_packed(path):
    with open(path, "rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def _read(path):
    """(header {"arch", "model": the architecture built, "layers": [{"name", FIELDS...}]}, the bytes after the
    header, the header's end)."""
    data = Path(path).read_bytes()
    if data[:len(MAGIC)] != MAGIC:
        raise InputError(f"{path} is not a {FORMAT} file (it does not start with {MAGIC!r})")
    at = len(MAGIC)
    if len(data) < at + 2 or data[at] != VERSION:
        found = data[at] if len(data) > at else "missing"
        raise InputError(f"{path}: format version {found}, expected {VERSION} ({FORMAT})")
    n = data[at + 1]
    arch = data[at + 2:at + 2 + n].decode("ascii", errors="replace")
    model = build(arch)
    names = model.weight_names()
    at += 2 + n
    if len(data) <= at or data[at] != len(names):
        found = data[at] if len(data) > at else "no"
        raise InputError(f"{path}: {found} layers, but architecture {arch!r} has {len(names)}")
    at += 1
    if len(data) < at + RECORD.size * len(names):
        raise InputError(f"{path} ends inside its header ({len(data)} bytes): a truncated file?")
    layers = []
    for name in names:
        layers.append({"name": name, **dict(zip(FIELDS, RECORD.unpack_from(data, at)))})
        at += RECORD.size
    body = sum(sum(section_bytes(h)) for h in layers)
    if len(data) != at + body:
        raise InputError(f"{path} has {len(data):,} bytes; its header describes {at + body:,} "
                         f"(a truncated or altered file?)")
    return {"arch": arch, "model": model, "layers": layers}, data[at:], at


def unpack(path):
    """The model in ``path`` (``pack``) as a dense-layout ``Sequential`` in eval mode."""
    header, body, _ = _read(path)
    model = header["model"]
    at = 0
    for head in header["layers"]:
        parts = []
        for size in section_bytes(head):
            parts.append(body[at:at + size])
            at += size
        codebook = np.frombuffer(parts[0], dtype="<f4")
        codes = bitunpack(parts[1], head["value_bits"], head["nnz"])
        positions = absolute_positions(bitunpack(parts[2], head["index_bits"], head["tokens"]), head["index_bits"])
        layer = model[head["name"]]
        W = np.zeros(layer.params["W"].size, dtype=np.float32)
        W[positions] = codebook[codes]
        layer.params["W"][...] = W.reshape(layer.params["W"].shape)
        live = absolute_positions(bitunpack(parts[3], head["bias_index_bits"], head["bias_tokens"]),
                                  head["bias_index_bits"])
        b = np.zeros(layer.params["b"].size, dtype=np.float32)
        b[live] = np.frombuffer(parts[4], dtype="<f2").astype(np.float32)
        layer.params["b"][...] = b
    return model.eval()


def packed_stats(path):
    """What the file spends, per layer and in total: bits per non-zero for values (codes) and for indices,
    bytes of codebooks and biases, the file's size, and the weight-bits ratio (every weight of the
    architecture at 32 bits against non-zeros x value bits, how the papers count)."""
    header, _, header_end = _read(path)
    model = header["model"]
    rows = []
    for h in header["layers"]:
        nnz, sizes = max(h["nnz"], 1), section_bytes(h)
        rows.append({"layer": h["name"], "weights": int(model[h["name"]].params["W"].size), "nnz": h["nnz"],
                     "values": h["codebook"], "value_bits": h["value_bits"],
                     "index_bits": h["index_bits"], "index_bits_per_nz": h["index_bits"] * h["tokens"] / nnz,
                     "codebook_bytes": sizes[0], "code_bytes": sizes[1], "index_bytes": sizes[2],
                     "biases": int(model[h["name"]].params["b"].size), "stored_biases": h["bias_nnz"],
                     "bias_bytes": sizes[3] + sizes[4]})
    weights = sum(r["weights"] for r in rows)
    value_bits = sum(r["nnz"] * r["value_bits"] for r in rows)
    size = Path(path).stat().st_size
    return {"format": FORMAT, "arch": header["arch"], "layers": rows, "file_bytes": size, "header_bytes": header_end,
            "nnz": sum(r["nnz"] for r in rows), "weights": weights, "weight_value_bits": value_bits,
            "weight_bits_ratio": 32 * weights / max(value_bits, 1)}
