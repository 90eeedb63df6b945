"""save and load: a round trip restores the outputs exactly; every refusal leaves the model as it
was; nothing in a file is unpickled; a failure mid-save leaves the old checkpoint intact."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest

import handnet as hn
from handnet import checkpoint
from handnet.layers import BatchNorm1d, Linear, ReLU


def make_model(seed: int) -> hn.Sequential:
    rng = np.random.default_rng(seed)
    model = hn.Sequential(Linear(3, 5, rng=rng), BatchNorm1d(5), ReLU(), Linear(5, 2, rng=rng))
    for _ in range(3):  # move the running statistics away from their initial values
        model(rng.standard_normal((8, 3)))
    return model


def snapshot(model: hn.Module) -> dict:
    """Everything load could change: the state, and which array objects the parameters hold."""
    return {"state": model.state_dict(), "arrays": [id(p.data) for p in model.parameters()]}


def assert_unchanged(model: hn.Module, before: dict) -> None:
    after = snapshot(model)
    assert after["arrays"] == before["arrays"]
    assert list(after["state"]) == list(before["state"])
    for key, value in before["state"].items():
        np.testing.assert_array_equal(after["state"][key], value, err_msg=key)
        assert after["state"][key].dtype == value.dtype


def write_npz(path, arrays: dict, allow_pickle: bool = False) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in arrays.items():
            with archive.open(key + ".npy", "w") as entry:
                np.lib.format.write_array(entry, np.asarray(value), allow_pickle=allow_pickle)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_save_then_load_gives_identical_state_and_outputs_in_both_modes(tmp_path):
    source, target = make_model(0), make_model(1)
    x = np.random.default_rng(2).standard_normal((6, 3))
    path = hn.save(source, tmp_path / "model.npz")
    hn.load(target, path)
    for key, value in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[key], value, err_msg=key)
    source.eval(), target.eval()
    np.testing.assert_array_equal(target(x), source(x))
    source.train(), target.train()
    np.testing.assert_array_equal(target(x), source(x))


def test_the_file_is_an_npz_with_torch_keys_that_numpy_reads(tmp_path):
    model = make_model(0)
    hn.save(model, tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:
        assert archive.files == list(model.state_dict())
        assert archive["1.num_batches_tracked"].dtype == np.int64 and archive["1.num_batches_tracked"] == 3


def test_the_path_is_used_exactly_with_no_npz_appended(tmp_path):
    model = make_model(0)
    written = hn.save(model, str(tmp_path / "ckpt"))
    assert written == tmp_path / "ckpt" and written.exists()
    assert sorted(os.listdir(tmp_path)) == ["ckpt"]  # no ckpt.npz, no temporary file left
    hn.load(make_model(1), tmp_path / "ckpt")


def test_saving_over_an_existing_checkpoint_replaces_it(tmp_path):
    path = tmp_path / "model.npz"
    hn.save(make_model(0), path)
    hn.save(make_model(1), path)
    target = make_model(2)
    hn.load(target, path)
    np.testing.assert_array_equal(target[0].weight.data, make_model(1)[0].weight.data)
    assert os.listdir(tmp_path) == ["model.npz"]


def test_a_failure_mid_save_leaves_the_old_file_intact_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    hn.save(make_model(0), path)
    old_bytes = path.read_bytes()
    calls = []

    def write_array_then_crash(entry, array, allow_pickle):
        calls.append(1)
        if len(calls) == 3:  # some arrays are already written to the temporary file
            raise OSError("disk full")
        return np.lib.format.write_array(entry, array, allow_pickle=allow_pickle)

    monkeypatch.setattr(checkpoint.np.lib.format, "write_array", write_array_then_crash)
    with pytest.raises(OSError, match="disk full"):
        hn.save(make_model(1), path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["model.npz"]


def test_a_failure_at_the_rename_leaves_the_old_file_intact_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    hn.save(make_model(0), path)
    old_bytes = path.read_bytes()

    def crash(src, dst):
        raise KeyboardInterrupt  # even an interrupt cleans up

    monkeypatch.setattr(checkpoint.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        hn.save(make_model(1), path)
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["model.npz"]


# ---- refusals: each leaves the model exactly as it was ------------------------------------------
def refusal_cases(tmp_path) -> dict:
    good = make_model(5).state_dict()
    cases = {}

    def case(name, make_file, error, message):
        path = tmp_path / name
        make_file(path)
        cases[name] = (path, error, message)

    case("missing_key", lambda p: write_npz(p, {k: v for k, v in good.items() if k != "3.bias"}),
         KeyError, r"missing keys \['3.bias'\]")
    case("extra_key", lambda p: write_npz(p, {**good, "4.weight": np.zeros(2)}),
         KeyError, r"unexpected keys \['4.weight'\]")
    case("wrong_shape", lambda p: write_npz(p, {**good, "0.weight": np.zeros((3, 5))}),
         ValueError, r"'0.weight' has shape \(3, 5\), the model expects \(5, 3\)")
    case("string_array", lambda p: write_npz(p, {**good, "0.bias": np.array(["a"] * 5)}),
         ValueError, "'0.bias' must be an array of real numbers")
    case("complex_array", lambda p: write_npz(p, {**good, "0.bias": np.zeros(5, dtype=complex)}),
         ValueError, "'0.bias' must be an array of real numbers")
    case("object_array", lambda p: write_npz(p, {**good, "0.bias": np.array([1.0] * 5, dtype=object)},
                                             allow_pickle=True),
         ValueError, "object arrays")
    case("raw_pickle", lambda p: p.write_bytes(__import__("pickle").dumps(good)),
         ValueError, "not an .npz checkpoint")
    case("single_npy", lambda p: p.write_bytes(npy_bytes(np.zeros(3))), ValueError, "not an .npz checkpoint")
    case("garbage", lambda p: p.write_bytes(np.random.default_rng(0).bytes(500)),
         ValueError, "not an .npz checkpoint")
    case("garbage_after_zip_magic", lambda p: p.write_bytes(b"PK\x03\x04" + np.random.default_rng(0).bytes(500)),
         ValueError, "not a valid checkpoint: truncated or corrupt")
    case("garbage_after_pk", lambda p: p.write_bytes(b"PK" + np.random.default_rng(0).bytes(500)),
         ValueError, "not a valid checkpoint: not an .npz")     # numpy took it for a pickle: "object arrays"
    # values no model could have produced, each named by its key
    case("negative_count", lambda p: write_npz(p, {**good, "1.num_batches_tracked": np.array(-1)}),
         ValueError, r"'1.num_batches_tracked' must be ≥ 0 .* got -1")
    case("count_beyond_int64_float", lambda p: write_npz(p, {**good, "1.num_batches_tracked": np.array(1e300)}),
         ValueError, r"'1.num_batches_tracked' holds 1000000.*, beyond the model's int64")
    case("count_beyond_int64_uint", lambda p: write_npz(p, {**good, "1.num_batches_tracked": np.array(2**64 - 1,
                                                                                                     np.uint64)}),
         ValueError, r"'1.num_batches_tracked' holds 18446744073709551615, beyond the model's int64")
    case("negative_variance", lambda p: write_npz(p, {**good, "1.running_var": -good["1.running_var"]}),
         ValueError, r"'1.running_var' must be ≥ 0")
    case("empty_file", lambda p: p.write_bytes(b""), ValueError, "not an .npz checkpoint")

    def truncated(p):
        hn.save(make_model(5), p)
        p.write_bytes(p.read_bytes()[: p.stat().st_size * 2 // 3])
    case("truncated", truncated, ValueError, "truncated or corrupt")

    def bit_flipped(p):  # a flipped byte inside the first array's data: the CRC check catches it
        hn.save(make_model(5), p)
        data = bytearray(p.read_bytes())
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
            info = archive.infolist()[0]
        data[info.header_offset + 30 + len(info.filename) + 20 + 128 + 3] ^= 0xFF
        p.write_bytes(bytes(data))
    case("bit_flipped", bit_flipped, ValueError, "truncated or corrupt")
    return cases


CASES = ["missing_key", "extra_key", "wrong_shape", "string_array", "complex_array", "object_array", "raw_pickle",
         "single_npy", "garbage", "garbage_after_zip_magic", "garbage_after_pk", "empty_file", "truncated",
         "bit_flipped", "negative_count", "count_beyond_int64_float", "count_beyond_int64_uint", "negative_variance"]


@pytest.mark.parametrize("name", CASES)
def test_bad_checkpoint_is_refused_with_a_clear_error_and_the_model_is_unchanged(name, tmp_path):
    path, error, message = refusal_cases(tmp_path)[name]
    model = make_model(0)
    before = snapshot(model)
    with pytest.raises(error, match=message):
        hn.load(model, path)
    assert_unchanged(model, before)


class Trap:
    """Unpickling this object creates a file: proof that something in the checkpoint ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_nothing_in_a_pickled_checkpoint_runs(tmp_path):
    marker = tmp_path / "ran"
    trap = np.empty(5, dtype=object)
    trap[:] = [Trap(marker)] * 5
    path = tmp_path / "trap.npz"
    write_npz(path, {**make_model(0).state_dict(), "0.bias": trap}, allow_pickle=True)
    with np.load(path, allow_pickle=True) as archive:  # the trap works when pickles are allowed …
        archive["0.bias"]
    assert marker.exists()
    marker.unlink()
    model = make_model(0)
    before = snapshot(model)
    with pytest.raises(ValueError, match="object arrays"):  # … and load refuses it without running it
        hn.load(model, path)
    assert not marker.exists()
    assert_unchanged(model, before)


def test_missing_file_raises_file_not_found_and_model_is_unchanged(tmp_path):
    model = make_model(0)
    before = snapshot(model)
    with pytest.raises(FileNotFoundError):
        hn.load(model, tmp_path / "nope.npz")
    assert_unchanged(model, before)


def test_save_and_load_refuse_a_non_module(tmp_path):
    with pytest.raises(TypeError, match="model"):
        hn.save({"w": np.zeros(2)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="model"):
        hn.load({"w": np.zeros(2)}, tmp_path / "x.npz")


def test_a_value_beyond_float32_is_refused_by_a_float32_model(tmp_path):
    model = hn.Sequential(Linear(3, 2, rng=0, dtype=np.float32))
    path = tmp_path / "big.npz"
    write_npz(path, {"0.weight": np.full((2, 3), 1e300), "0.bias": np.zeros(2)})   # float64: fine there
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"'0.weight' holds 1e\+300, beyond the range of the model's float32"):
        hn.load(model, path)
    assert_unchanged(model, before)


@pytest.mark.parametrize("key, bad", [("0.weight", np.nan), ("1.running_mean", np.inf)])
def test_save_refuses_a_state_load_would_refuse_and_writes_nothing(tmp_path, key, bad):
    # A NaN parameter used to save fine and then never load back.
    path = tmp_path / "model.npz"
    hn.save(make_model(0), path)
    old_bytes = path.read_bytes()
    model = make_model(1)
    owner, _, name = key.partition(".")
    value = getattr(model[int(owner)], name)
    (value.data if isinstance(value, hn.Parameter) else value).flat[0] = bad
    with pytest.raises(ValueError, match=f"save: the model's state is refused, since load could never read it back: "
                                         f".*'{key}' holds NaN or inf"):
        hn.save(model, path)
    assert path.read_bytes() == old_bytes and os.listdir(tmp_path) == ["model.npz"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_load_refuses_a_fifo_at_once_instead_of_waiting_for_a_writer(tmp_path):
    import signal

    fifo = tmp_path / "ckpt.npz"
    os.mkfifo(fifo)

    def blocked(signum, frame):
        raise TimeoutError("load blocked on the FIFO")

    previous = signal.signal(signal.SIGALRM, blocked)
    signal.alarm(5)
    try:
        with pytest.raises(ValueError, match="is a FIFO; a checkpoint is a regular file written by save"):
            hn.load(make_model(0), fifo)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_load_refuses_a_directory(tmp_path):
    model = make_model(0)
    before = snapshot(model)
    with pytest.raises(ValueError, match="is a directory"):
        hn.load(model, tmp_path)
    assert_unchanged(model, before)


@pytest.mark.parametrize("where", [".", ""])
def test_save_to_a_directory_asks_for_a_file_name(tmp_path, monkeypatch, where):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="is a directory; give the checkpoint a file name, e.g. 'model.npz'"):
        hn.save(make_model(0), where)
    assert os.listdir(tmp_path) == []
