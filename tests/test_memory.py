"""The ledger of what backprop keeps: hn.saved_arrays lists exactly the arrays the layers hold, and its
total is their memory, each block counted once."""

import numpy as np
import pytest

import handnet as hn
import handnet.layers
from handnet.layers import BatchNorm1d, Linear, ReLU, Sigmoid, Softmax, Tanh
from handnet.losses.loss import Loss
from handnet.memory import cached_arrays
from tests.test_coverage import EXAMPLES


def _every_layer_model(rng) -> hn.Sequential:
    return hn.Sequential(Linear(5, 6, rng=rng), BatchNorm1d(6), ReLU(), Linear(6, 6, rng=rng), Tanh(),
                         Linear(6, 4, rng=rng), Sigmoid(), Linear(4, 3, rng=rng), Softmax())


def every_exported_layer(rng) -> hn.Sequential:
    """Every exported layer on 3 features (tests/test_coverage.py's EXAMPLES build those that need
    arguments), each in a Sequential with a Linear after it that maps its output back to 3 features."""
    width = 3
    blocks = [Linear(width, width, rng=rng)]
    for name in handnet.layers.__all__:
        cls = getattr(handnet.layers, name)
        if issubclass(cls, Loss):
            continue
        layer = EXAMPLES.get(cls, cls)()
        out = layer.eval()(np.zeros((2, width))).shape[-1]
        blocks.append(hn.Sequential(layer.train(), Linear(out, width, rng=rng)))
    return hn.Sequential(*blocks)


def _held_by_attributes(model: hn.Module) -> list[np.ndarray]:
    """Read off the modules directly: every ndarray attribute that is not a buffer."""
    return [value for m in model.modules() for name, value in vars(m).items()
            if isinstance(value, np.ndarray) and name not in m._buffer_names]


def test_each_layer_reports_the_cache_its_docstring_names_with_shape_dtype_and_bytes():
    rng = np.random.default_rng(0)
    model = _every_layer_model(rng)
    model(rng.standard_normal((8, 5)))
    rows = [(r.module, r.class_name, r.attribute, r.shape, str(r.dtype), r.nbytes) for r in hn.saved_arrays(model)]
    assert rows == [
        ("0", "Linear", "x", (8, 5), "float64", 8 * 5 * 8),
        ("1", "BatchNorm1d", "x_hat", (8, 6), "float64", 8 * 6 * 8),
        ("1", "BatchNorm1d", "inv_std", (6,), "float64", 6 * 8),
        ("2", "ReLU", "y", (8, 6), "float64", 8 * 6 * 8),       # the next Linear's x: one array
        ("3", "Linear", "x", (8, 6), "float64", 8 * 6 * 8),
        ("4", "Tanh", "y", (8, 6), "float64", 8 * 6 * 8),
        ("5", "Linear", "x", (8, 6), "float64", 8 * 6 * 8),
        ("6", "Sigmoid", "y", (8, 4), "float64", 8 * 4 * 8),
        ("7", "Linear", "x", (8, 4), "float64", 8 * 4 * 8),
        ("8", "Softmax", "y", (8, 3), "float64", 8 * 3 * 8),
    ]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_total_bytes_equal_the_distinct_arrays_the_modules_really_hold(dtype):
    rng = np.random.default_rng(1)
    model = every_exported_layer(rng)
    model(rng.standard_normal((6, 3)).astype(dtype))
    held = _held_by_attributes(model)
    distinct = {id(a): a for a in held}.values()
    ledger = hn.saved_arrays(model)
    assert len(ledger) == len(held) and ledger.counted_twice_bytes == sum(a.nbytes for a in held)
    assert ledger.total_bytes == sum(a.nbytes for a in distinct)
    assert ledger.total_bytes < ledger.counted_twice_bytes      # Tanh's y is the next Linear's x


def test_an_array_held_by_two_layers_is_counted_once_and_named():
    rng = np.random.default_rng(2)
    model = hn.Sequential(Linear(4, 5, rng=rng), Tanh(), Linear(5, 2, rng=rng))
    model(rng.standard_normal((3, 4)))
    assert model[1].y is model[2].x
    ledger = hn.saved_arrays(model)
    assert [r.shared_with for r in ledger] == [None, None, "1.y"]
    assert ledger.total_bytes == ledger.counted_twice_bytes - model[2].x.nbytes == (3 * 4 + 3 * 5) * 8


def test_a_cached_slice_counts_the_bytes_it_spans_not_the_array_it_views():
    data = np.random.default_rng(3).standard_normal((1000, 4))
    layer = Linear(4, 2, rng=0)
    layer(data[:10])
    assert hn.saved_arrays(layer).total_bytes == 10 * 4 * 8


class _Overlapping(hn.Module):
    """Holds two views of one buffer that overlap in 2 of their 6 entries each."""

    def __init__(self):
        super().__init__()
        base = np.arange(10.0)
        self.a, self.b = base[0:6], base[4:10]


def test_overlapping_views_count_the_union_of_their_memory():
    ledger = hn.saved_arrays(_Overlapping())
    assert [r.nbytes for r in ledger] == [48, 48] and ledger[1].shared_with == "a"
    assert ledger.total_bytes == 10 * 8


def test_parameters_buffers_and_gradients_are_not_counted():
    bn = BatchNorm1d(3)
    x = np.random.default_rng(4).standard_normal((5, 3))
    bn(x)
    bn.backward(x)
    assert {r.attribute for r in hn.saved_arrays(bn)} == {"x_hat", "inv_std"} == set(cached_arrays(bn))


def test_before_any_forward_nothing_is_held():
    ledger = hn.saved_arrays(_every_layer_model(np.random.default_rng(5)))
    assert len(ledger) == 0 and ledger.total_bytes == 0


def test_printing_shows_one_line_per_array_and_the_total():
    rng = np.random.default_rng(6)
    model = hn.Sequential(Linear(4, 5, rng=rng), Tanh(), Linear(5, 2, rng=rng))
    model(rng.standard_normal((3, 4)))
    text = str(hn.saved_arrays(model))
    lines = text.splitlines()
    assert lines[0].split() == ["module", "class", "attribute", "shape", "dtype", "bytes", "shares", "memory", "with"]
    assert lines[3].split() == ["2", "Linear", "x", "(3,", "5)", "float64", "120", "1.y"]
    assert lines[-1].startswith("total: 216 bytes held for backward in 3 arrays; shared memory counted once")
    assert repr(hn.saved_arrays(model)) == text


def test_saved_arrays_refuses_what_is_not_a_module():
    with pytest.raises(TypeError, match="saved_arrays: model must be a Module, got ndarray"):
        hn.saved_arrays(np.zeros(3))
