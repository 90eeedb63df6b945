"""What backprop keeps: the arrays each layer holds, from its forward, for its backward.

Reverse mode reads, at every layer, something of the forward pass: Linear its input x (for
dW = doutᵀx), ReLU, Tanh and Sigmoid their output y (for the mask 1[y > 0], 1 − y² and y(1 − y)),
BatchNorm1d x̂ and s = 1/√(σ² + ε). These caches, not the parameters, are the memory of training
that grows with depth and batch size: a network of n layers on N rows of width D holds about
n·N·D numbers between its forward and its backward. ``saved_arrays(model)`` lists them, in the
spirit of JAX's ``print_saved_residuals``::

    loss = ce(model(X), y)
    print(hn.saved_arrays(model))          # one row per array; the total at the bottom
    hn.saved_arrays(model).total_bytes     # the number

What counts as held for backward: every attribute of every module of the model that is an
ndarray and is not a buffer (``register_buffer``: BatchNorm's running statistics are state, kept
whether or not anything is differentiated). Parameters are ``Parameter`` objects, not arrays, and
their ``.grad`` is written by backward, not read by it, so neither is counted. This is the same
test ``cached_arrays`` applies to one module; ``Checkpoint`` uses it to drop the caches it
recomputes.

Shared memory is counted once. Tanh returns the array it caches as y, and the next Linear caches
that same array as its x: two rows, one buffer. Rows whose arrays lie in the same block of memory
are grouped (an array and its views have one owner, followed through ``.base``), and the total
counts the bytes their ranges cover once; the row that shares memory with an earlier one names
it under "shares memory with". A row gives its own array's ``nbytes``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handnet.module import Module

try:
    from numpy.lib.array_utils import byte_bounds   # NumPy 2
except ImportError:  # pragma: no cover - NumPy 1.x
    byte_bounds = np.byte_bounds


def cached_arrays(module: Module) -> dict[str, np.ndarray]:
    """The arrays ``module`` itself (not its children) holds for its backward, by attribute name:
    its ndarray attributes that are not buffers. None (no forward yet, or dropped) is not an array."""
    return {name: value for name, value in vars(module).items()
            if isinstance(value, np.ndarray) and name not in module._buffer_names}


@dataclass(frozen=True)
class SavedArray:
    """One array held for backward: where it is held, and what it costs."""

    module: str                   # the module's name in the model: "0", "2.1"; "" is the model itself
    class_name: str               # the module's class: "Linear"
    attribute: str                # the attribute that holds it: "x"
    shape: tuple[int, ...]
    dtype: np.dtype
    nbytes: int                   # this array's bytes
    shared_with: str | None       # "module.attribute" of the first earlier row whose memory it shares


class SavedArrays:
    """The ledger: one ``SavedArray`` per held array, in the order of ``model.named_modules()``.

    Attributes:
        rows: the list of ``SavedArray``.
        total_bytes: the bytes held, each block of memory counted once.
        counted_twice_bytes: the sum of every row's ``nbytes``, shared memory counted each time it is held.
    """

    def __init__(self, rows: list[SavedArray], total_bytes: int) -> None:
        self.rows = rows
        self.total_bytes = int(total_bytes)
        self.counted_twice_bytes = sum(r.nbytes for r in rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, index: int) -> SavedArray:
        return self.rows[index]

    def __str__(self) -> str:
        header = ("module", "class", "attribute", "shape", "dtype", "bytes", "shares memory with")
        cells = [(r.module or "(model)", r.class_name, r.attribute, str(r.shape), str(r.dtype), f"{r.nbytes:,}",
                  r.shared_with or "") for r in self.rows]
        widths = [max(len(row[i]) for row in [header] + cells) for i in range(len(header))]
        line = lambda row: "  ".join(c.rjust(w) if i == 5 else c.ljust(w)
                                     for i, (c, w) in enumerate(zip(row, widths))).rstrip()
        shared = self.counted_twice_bytes - self.total_bytes
        total = f"total: {_human(self.total_bytes)} held for backward in {len(self.rows)} arrays"
        if shared:
            total += f"; shared memory counted once (saves {shared:,} bytes)"
        return "\n".join([line(header)] + [line(c) for c in cells] + [total])

    __repr__ = __str__


def saved_arrays(model: Module) -> SavedArrays:
    """Every array the modules of ``model`` hold for backward, after its last forward (see the module docstring)."""
    if not isinstance(model, Module):
        raise TypeError(f"saved_arrays: model must be a Module, got {type(model).__name__}")
    held = []
    for prefix, m in model.named_modules():
        for name, array in cached_arrays(m).items():
            held.append((prefix.rstrip("."), type(m).__name__, name, array))

    groups: dict[int, list[int]] = {}            # id of the memory's owner -> indices of the rows in it
    for i, (*_, array) in enumerate(held):
        groups.setdefault(id(_owner(array)), []).append(i)
    shared_with: dict[int, str] = {}
    total = 0
    for members in groups.values():
        total += _union_length([byte_bounds(held[i][3]) for i in members])
        for k, i in enumerate(members):
            earlier = next((j for j in members[:k] if np.shares_memory(held[j][3], held[i][3])), None)
            if earlier is not None:
                shared_with[i] = f"{held[earlier][0]}.{held[earlier][2]}".lstrip(".")
    rows = [SavedArray(module, cls, name, array.shape, array.dtype, int(array.nbytes), shared_with.get(i))
            for i, (module, cls, name, array) in enumerate(held)]
    return SavedArrays(rows, total)


def _owner(array: np.ndarray) -> np.ndarray:
    """The array that owns ``array``'s memory: follow ``.base`` while it is an ndarray."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _union_length(intervals: list[tuple[int, int]]) -> int:
    """The number of bytes covered by the half-open address ranges [low, high), each byte once."""
    covered, reach = 0, None
    for low, high in sorted(intervals):
        if reach is None or low >= reach:
            covered += high - low
            reach = high
        elif high > reach:
            covered += high - reach
            reach = high
    return covered


def _human(nbytes: int) -> str:
    """``nbytes`` with thousands separators, and in KiB or MiB when that is shorter to read."""
    for unit, size in (("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= size:
            return f"{nbytes:,} bytes ({nbytes / size:.3g} {unit})"
    return f"{nbytes:,} bytes"
