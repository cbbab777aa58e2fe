"""The packed file (sparse/packed.py): bit packing, relative indices with fillers, an exact round trip, the
sizes it reports, and its errors."""
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minadmm.nn.model import build, save_model
from minadmm.pruning.quantized import zero_dead_biases
from minadmm.sparse.packed import (absolute_positions, bitpack, bitunpack, index_bits, is_packed, pack, packed_stats,
                                   relative_tokens, unpack)


@given(st.integers(1, 12).flatmap(lambda b: st.tuples(st.just(b), st.lists(st.integers(0, 2 ** b - 1), max_size=50))))
def test_bitpack_round_trip(case):
    bits, values = case
    data = bitpack(values, bits)
    assert len(data) == -(-len(values) * bits // 8)
    np.testing.assert_array_equal(bitunpack(data, bits, len(values)), values)


def test_bitpack_by_hand():
    assert bitpack([1, 2, 3], 2) == bytes([0b01101100])
    assert bitpack([5], 3) == bytes([0b10100000])
    with pytest.raises(ValueError, match="into 2 bits"):
        bitpack([4], 2)


def test_relative_tokens_by_hand():
    """p = 2 (tokens 1..3 place a non-zero, 0 advances 3): positions 0, 2, 9 -> gaps 1, 2, 7 -> 1, 2, 0 0 1."""
    np.testing.assert_array_equal(relative_tokens([0, 2, 9], 2), [1, 2, 0, 0, 1])
    np.testing.assert_array_equal(absolute_positions([1, 2, 0, 0, 1], 2), [0, 2, 9])
    np.testing.assert_array_equal(relative_tokens([3], 2), [0, 1])  # gap 4 = filler 3 + 1
    np.testing.assert_array_equal(relative_tokens([2], 2), [3])


@settings(deadline=None)
@given(st.sets(st.integers(0, 5000), max_size=60), st.integers(1, 14))
def test_relative_round_trip(positions, p):
    positions = np.array(sorted(positions), dtype=np.int64)
    np.testing.assert_array_equal(absolute_positions(relative_tokens(positions, p), p), positions)


def test_index_bits_is_the_cheapest():
    positions = np.array([5, 40, 41, 300, 1000])
    p, tokens = index_bits(positions)
    assert all(p * tokens.size <= q * relative_tokens(positions, q).size for q in range(1, 25))


def quantized_model(seed=0, density=0.01):
    model = build("lenet5_relu")
    rng = np.random.default_rng(seed)
    for name in model.weight_names():
        W, b = model[name].params["W"], model[name].params["b"]
        levels = np.float32([-0.5, -0.25, 0.125, 0.5, 1.0])
        W[...] = np.where(rng.random(W.shape) < density, levels[rng.integers(0, 5, W.shape)], 0)
        b[...] = rng.standard_normal(b.shape).astype(np.float16)
        b[rng.random(b.shape) < 0.3] = 0  # units that reach nothing have their bias zeroed: not stored
    return model


def test_round_trip_exact_and_sizes(tmp_path):
    model = quantized_model()
    stats = pack(model, tmp_path / "m.mpk")
    assert is_packed(tmp_path / "m.mpk")
    back = unpack(tmp_path / "m.mpk")
    for k, v in model.params.items():
        np.testing.assert_array_equal(back.params[k], v, err_msg=k)
    X = np.random.default_rng(1).standard_normal((8, 1, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(back.eval().predict(X), model.eval().predict(X))
    rows = {r["layer"]: r for r in stats["layers"]}
    for name in model.weight_names():
        W = model[name].params["W"]
        r = rows[name]
        assert r["nnz"] == np.count_nonzero(W)
        assert r["values"] == np.unique(W[W != 0]).size
        assert r["value_bits"] == {1: 1, 2: 1, 3: 2, 4: 2, 5: 3}[r["values"]]
        assert r["code_bytes"] == -(-r["nnz"] * r["value_bits"] // 8)
        b = model[name].params["b"]
        assert r["codebook_bytes"] == 4 * r["values"] and r["biases"] == b.size
        assert r["stored_biases"] == np.count_nonzero(b) < b.size
        assert 2 * r["stored_biases"] < r["bias_bytes"] <= 2 * r["stored_biases"] + -(-b.size // 8)  # + <= 1 bit each
    assert stats["nnz"] == sum(np.count_nonzero(model[n].params["W"]) for n in model.weight_names())
    bits = sum(r["nnz"] * r["value_bits"] for r in stats["layers"])
    assert rows["fc1"]["value_bits"] == 3 and stats["weight_bits_ratio"] == pytest.approx(32 * 430_500 / bits)
    assert stats["file_bytes"] == (tmp_path / "m.mpk").stat().st_size
    assert stats == packed_stats(tmp_path / "m.mpk")
    # the header as docs/formats.md describes it: version, the architecture's name, the layer count, and per
    # layer nnz, b, p, tokens, codebook size, stored biases, q, bias tokens (23 bytes, little-endian)
    data = (tmp_path / "m.mpk").read_bytes()
    assert data[:8] == b"MNADMMPK" and data[8] == 2 and data[9] == 11 and data[10:21] == b"lenet5_relu" and data[21] == 4
    nnz, b, p, tokens, codebook, bias_nnz, q, bias_tokens = struct.unpack("<IBBIIIBI", data[22:45])
    conv1 = rows["conv1"]
    assert (nnz, b, p, codebook, bias_nnz) == (conv1["nnz"], conv1["value_bits"], conv1["index_bits"], conv1["values"],
                                               conv1["stored_biases"])
    assert tokens * p == round(conv1["index_bits_per_nz"] * nnz) and stats["header_bytes"] == 22 + 4 * 23


def test_errors(tmp_path):
    model = quantized_model()
    model["fc1"].params["b"][0] = 0.1  # not a float16 number
    with pytest.raises(ValueError, match="fc1: its biases are not float16"):
        pack(model, tmp_path / "m.mpk")
    model = quantized_model()
    model["fc2"].params["W"][:, :] = np.arange(5000, dtype=np.float32).reshape(500, 10) + 1
    with pytest.raises(ValueError, match="fc2: its non-zeros take 5000 distinct values"):
        pack(model, tmp_path / "m.mpk")
    assert not (tmp_path / "m.mpk").exists()
    save_model(tmp_path / "dense.npz", build("lenet5_relu"))
    with pytest.raises(ValueError, match="is not a minadmm-packed-2 file"):
        unpack(tmp_path / "dense.npz")
    pack(quantized_model(), tmp_path / "m.mpk")
    data = (tmp_path / "m.mpk").read_bytes()
    (tmp_path / "v.mpk").write_bytes(data[:8] + bytes([1]) + data[9:])
    with pytest.raises(ValueError, match="format version 1, expected 2"):
        unpack(tmp_path / "v.mpk")
    n = data[9]
    (tmp_path / "n.mpk").write_bytes(data[:10 + n] + bytes([3]) + data[11 + n:])
    with pytest.raises(ValueError, match="3 layers, but architecture 'lenet5_relu' has 4"):
        unpack(tmp_path / "n.mpk")
    for cut in (9, 30, len(data) - 1):
        (tmp_path / "t.mpk").write_bytes(data[:cut])
        with pytest.raises(ValueError, match="t.mpk"):
            unpack(tmp_path / "t.mpk")
    (tmp_path / "t.mpk").write_bytes(data[:-1])
    with pytest.raises(ValueError, match=f"has {len(data) - 1:,} bytes; its header describes {len(data):,}"):
        unpack(tmp_path / "t.mpk")


def test_cli_pack_and_evaluate(tmp_path, capsys):
    """``minadmm pack`` writes the file, ``minadmm evaluate`` reads it directly (the same accuracy as the
    .npz), and a model with too many values is refused with the layer named."""
    import json

    from minadmm.cli import main
    model = quantized_model()
    model["fc2"].params["W"][:7] = 0  # fc1 units 0-6 reach nothing: their biases are not stored
    save_model(tmp_path / "q.npz", model)
    assert main(["pack", str(tmp_path / "q.npz"), "--out", str(tmp_path / "q.mpk"), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["file_bytes"] == (tmp_path / "q.mpk").stat().st_size
    assert stats["file_ratio_to_input"] == pytest.approx((tmp_path / "q.npz").stat().st_size / stats["file_bytes"])
    assert stats["dead_biases_zeroed"] == zero_dead_biases(model)  # the biases of units that reach nothing
    results = []
    for f in ("q.npz", "q.mpk"):
        assert main(["evaluate", str(tmp_path / f), "--json"]) == 0
        results.append(json.loads(capsys.readouterr().out))
    assert results[0]["test_acc"] == results[1]["test_acc"]
    assert results[0]["nonzero_weights"] == results[1]["nonzero_weights"] == results[1]["packed"]["nnz"]
    save_model(tmp_path / "dense.npz", build("lenet5_relu"))
    assert main(["pack", str(tmp_path / "dense.npz"), "--out", str(tmp_path / "d.mpk")]) != 0
    assert "conv1: its non-zeros take" in capsys.readouterr().err
