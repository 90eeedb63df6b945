"""Gradient checkpointing: keep a segment's input instead of its caches, and recompute them for backward.

A plain forward leaves every layer's cache in memory until backward reads it (``hn.saved_arrays``
lists them): memory grows with depth n. A ``Checkpoint`` around a segment of layers keeps only
the segment's input; its backward re-runs the segment's forward to rebuild the caches, runs the
segment's backward, and drops them again. Cut a chain of n layers into s segments and, between
forward and backward, only the s segment inputs and one segment's caches are held, O(s + n/s):
O(√n) at s ≈ √n, for one extra forward of every checkpointed segment (Chen et al., 2016,
"Training deep nets with sublinear memory cost").

    model = hn.checkpoint_sequential(hn.Sequential(*layers), segments=8)   # the same layers and names
    loss = ce(model(X), y)
    model.backward(ce.backward())    # the gradients of the plain model, to the last bit

``Checkpoint`` wraps one module; ``checkpoint_sequential`` cuts a Sequential into segments, as
torch's function of that name does. Neither adds a level to the names: "0.weight" stays
"0.weight", so state dicts and saved files load into the plain model and into torch.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from handnet._checks import require_cache
from handnet.memory import cached_arrays
from handnet.module import Module
from handnet.sequential import Sequential


class Checkpoint(Module):
    """Hold ``module``'s input, not its caches; rebuild them by re-running its forward when a rule needs them.

    Forward: y = module(x); then every cache of module and of its descendants is dropped: each
    ndarray attribute, not a buffer, that the forward bound to a new array (what ``hn.saved_arrays``
    counts). An array attribute the forward left as it was stays: so a constant a module keeps
    must be a registered buffer or never be rebound by its forward. The Checkpoint keeps x, and
    the random-generator states and modes the forward started from.
    Backward: rebuild (below), dx = module.backward(dout), which writes the parameters' .grad;
    drop the caches again, and any array the rule bound. ``backward_parameters`` likewise, with
    module.backward_parameters.
    Forward mode: rebuild, dy = module.jvp(dx, tangents), drop.
    Second order: rebuild, module.backward_tangent(dout, dout_dot, dx, tangents), drop.
    The rules are module's own, run on the same caches, so the results are module's, bit for bit.
    This holds in both modes: a backward may follow an eval-mode forward, as for every layer.

    Rebuild replays the first forward exactly:
        * the same input: the array x itself (do not change it in place between forward and backward);
        * the same randomness: every ``np.random.Generator`` that is an attribute of an inner module
          is set back to the state it had before the first forward, so a Dropout draws the same mask;
        * the same modes: each inner module's ``training`` as at the first forward;
        * no state moves twice: the buffers are copied before the recompute and put back after it.
          A BatchNorm1d in train mode therefore updates running_mean, running_var and
          num_batches_tracked once per step, in the first forward. Its recompute normalises with
          the batch statistics of the same x, hence the same x̂ and s as the first forward.
          (torch's checkpoint updates them a second time in its recompute: pytorch/pytorch#96136.)
    After the recompute the generators and modes are put back too, so, as for every layer, a rule
    changes nothing the caller can see besides the .grad that backward writes.

    Shapes: those of module.

    Names: a Checkpoint adds no level. ``named_modules`` yields the Checkpoint and then module's
    own walk under the same prefix, so ``Checkpoint(Linear(…))`` has parameters "weight" and
    "bias", and as child "1" of a Sequential "1.weight", exactly as the unwrapped layer would.
    ``named_children`` (used by ``train()`` and ``repr``) shows module as "module".

    Cached by forward: ``x``.
    """

    def __init__(self, module: Module) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"Checkpoint: module must be a Module (a layer or a Sequential), "
                            f"got {type(module).__name__}")
        self.module = module
        self.x = None
        self.replay = None       # the generators' states and the modes the last forward started from

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        yield from self.module.named_modules(prefix)   # no "module." level

    def forward(self, x: np.ndarray) -> np.ndarray:
        replay, before = _snapshot(self.module, buffers=False), _array_attributes(self.module)
        y = self.module.forward(x)
        self.x, self.replay = np.asarray(x), replay
        _drop_bound_since(self.module, before)
        return y

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self._recomputed("backward", lambda: self.module.backward(dout))

    def backward_parameters(self, dout: np.ndarray) -> None:
        self._recomputed("backward_parameters", lambda: self.module.backward_parameters(dout))

    def jvp(self, dx: np.ndarray | None = None, tangents: dict | None = None) -> np.ndarray:
        return self._recomputed("jvp", lambda: self.module.jvp(dx, tangents))

    def backward_tangent(self, dout: np.ndarray, dout_dot: np.ndarray, dx: np.ndarray | None = None,
                         tangents: dict | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return self._recomputed("backward_tangent", lambda: self.module.backward_tangent(dout, dout_dot, dx, tangents))

    def _recomputed(self, method: str, rule):
        """Rebuild the caches, run ``rule`` on them, and drop every array the two bound."""
        before = _array_attributes(self.module)
        try:
            self._rebuild(method)
            return rule()
        finally:
            _drop_bound_since(self.module, before)

    def _rebuild(self, method: str) -> None:
        """Re-run the last forward on the kept x, from the generators and modes it started from; leave
        the buffers, generators and modes as they are now."""
        require_cache(self.x, "Checkpoint", method)
        now = _snapshot(self.module, buffers=True)
        _restore(self.replay)
        try:
            self.module.forward(self.x)
        finally:
            _restore(now)


def _snapshot(module: Module, *, buffers: bool) -> tuple[list, list]:
    """What a forward may change besides the caches: each module's mode, a copy of each buffer
    (when ``buffers``), and the state of each Generator held as an attribute (each Generator once)."""
    attributes, generators = [], {}
    for m in module.modules():
        attributes.append((m, "training", m.training))
        if buffers:
            attributes += [(m, name, np.array(getattr(m, name), copy=True)) for name in m._buffer_names]
        for value in vars(m).values():
            if isinstance(value, np.random.Generator) and id(value) not in generators:
                generators[id(value)] = (value, value.bit_generator.state)
    return attributes, list(generators.values())


def _restore(snapshot: tuple[list, list]) -> None:
    attributes, generators = snapshot
    for m, name, value in attributes:
        setattr(m, name, value)
    for generator, state in generators:
        generator.bit_generator.state = state


def _array_attributes(module: Module) -> dict[tuple[Module, str], np.ndarray]:
    """{(m, name): array} for every ndarray attribute, not a buffer, of module and its descendants."""
    return {(m, name): array for m in module.modules() for name, array in cached_arrays(m).items()}


def _drop_bound_since(module: Module, before: dict[tuple[Module, str], np.ndarray]) -> None:
    """Set to None every such attribute bound to another array since ``before`` (``_array_attributes``):
    the caches. One still holding the same array (a constant a module keeps) stays."""
    for (m, name), array in _array_attributes(module).items():
        if before.get((m, name)) is not array:
            setattr(m, name, None)


class CheckpointedSequential(Sequential):
    """A Sequential run in consecutive segments, each but the last under a Checkpoint.

    Made by ``checkpoint_sequential``. It holds the same layers as the Sequential it was made from,
    under the same names, so parameters, state dicts, modes, indexing and repr are that Sequential's.
    Its rules run ``chain`` = Sequential(Checkpoint(Sequential(segment 0)), …, Sequential(last
    segment)) and translate the names of parameter tangents between the two numberings
    ("1.2.weight" in chain is "7.weight" when segment 1 starts at layer 5). In ``named_modules``
    each segment's Checkpoint and Sequential are named after the segment's first layer.
    ``hn.to_torch`` translates the plain Sequential (torch has no such module); this one's state
    dict loads into it, and into its torch twin, key for key.
    """

    def __init__(self, layers: list[Module], bounds: list[tuple[int, int]]) -> None:
        pieces = [Sequential(*layers[start:stop]) for start, stop in bounds]
        self.bounds = list(bounds)
        self.chain = Sequential(*[Checkpoint(piece) for piece in pieces[:-1]], pieces[-1])
        super().__init__(*layers)
        self._in_chain = {self._rename(name): name for name, _ in self.chain.named_parameters()}

    def _rename(self, name: str) -> str:
        """A name in chain ("1.2.weight": segment 1, its layer 2) as in the whole Sequential ("7.weight")."""
        if not name:
            return name
        segment, _, rest = name.partition(".")
        layer, dot, rest = rest.partition(".")
        start = self.bounds[int(segment)][0]
        return f"{start}." if not layer else f"{start + int(layer)}{dot}{rest}"

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, m in self.chain.named_modules():
            yield prefix + self._rename(name), m

    def train(self, mode: bool = True) -> CheckpointedSequential:
        self.training = bool(mode)
        self.chain.train(mode)     # reaches every layer, and the Checkpoints between
        return self

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.chain.forward(x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self.chain.backward(dout)

    def backward_parameters(self, dout: np.ndarray) -> None:
        self.chain.backward_parameters(dout)

    def jvp(self, dx: np.ndarray | None = None, tangents: dict | None = None) -> np.ndarray:
        return self.chain.jvp(dx, self._to_chain(tangents))

    def backward_tangent(self, dout: np.ndarray, dout_dot: np.ndarray, dx: np.ndarray | None = None,
                         tangents: dict | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        dx_dot, grad_dots = self.chain.backward_tangent(dout, dout_dot, dx, self._to_chain(tangents))
        return dx_dot, {self._rename(name): value for name, value in grad_dots.items()}

    def _to_chain(self, tangents: dict | None) -> dict[str, np.ndarray]:
        return {self._in_chain[name]: value for name, value in self.check_tangents(tangents).items()}

    def __repr__(self) -> str:
        cuts = ", ".join(f"{start}–{stop - 1}" for start, stop in self.bounds)
        head, _, body = super().__repr__().partition("\n")
        return f"{head}  # segments {cuts}; all but the last checkpointed\n{body}"


def checkpoint_sequential(seq: Sequential, segments: int) -> CheckpointedSequential:
    """``seq`` cut into ``segments`` consecutive segments, each but the last under a Checkpoint.

    torch's ``checkpoint_sequential`` means the same: the last segment runs plainly, since the
    backward that follows the forward would rebuild its caches at once, an extra forward for no
    memory saved (so ``segments=1`` checkpoints nothing). The segments' lengths differ by at most
    one, the longer first (torch gives the remainder to the last). The result holds seq's own
    layers, not copies, under seq's names: its state dict is seq's, key for key.

    Raises:
        TypeError: ``seq`` is not a Sequential.
        ValueError: ``segments`` is not an integer from 1 to the number of layers of seq.
    """
    if not isinstance(seq, Sequential):
        raise TypeError(f"checkpoint_sequential: seq must be a Sequential, got {type(seq).__name__}; "
                        f"wrap a single module in Checkpoint instead")
    n = len(seq)
    if isinstance(segments, bool) or not isinstance(segments, (int, np.integer)) or not 1 <= segments <= n:
        raise ValueError(f"checkpoint_sequential: segments must be an integer from 1 to the number of layers "
                         f"of the Sequential ({n}), got {segments!r}")
    sizes = [n // segments + (1 if i < n % segments else 0) for i in range(segments)]
    stops = np.cumsum(sizes).tolist()
    return CheckpointedSequential(list(seq.layers), list(zip([0] + stops[:-1], stops)))
