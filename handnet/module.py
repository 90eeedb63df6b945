"""Module: the base class every layer and network is built from.

The protocol (every layer in ``handnet.layers`` follows it):

* ``y = m.forward(x)`` (or ``m(x)``) computes the output and caches, under named attributes,
  exactly what ``backward`` will need.
* ``dx = m.backward(dout)`` takes ``dout = ∂L/∂y`` (the shape of ``y``) and returns
  ``dx = ∂L/∂x`` (the shape of ``x``). It reads only the cache of the last forward, *writes*
  each parameter's ``.grad`` (never adds to it) and never changes a parameter's value:
  updating parameters is the optimizer's job.
* ``m.backward_parameters(dout)`` writes the same ``.grad`` as ``backward(dout)`` and returns
  None: for the caller who needs no dx (a training step: no one differentiates the data). A
  module whose dx costs real work skips it (Linear: the product dout W); the default runs
  backward and drops dx. ``Sequential`` stops at its first layer that holds parameters.
* Caches hold references, not copies (a copy of every activation would double the memory a
  backward needs): between forward and backward, do not change in place an array passed to a
  layer's forward or returned by it. ``Sequential`` copies its input, so a network is safe from
  a caller who refills its batch array. The layers keep the same rule: a forward binds new
  arrays to its cache attributes and never writes into those of an earlier forward, which others
  may still hold (the next layer caches this one's output; the caller keeps the last output).
  ``Checkpoint`` and ``fit``'s shape probe rely on it.
* One instance serves one place. A layer holds the cache of its *last* forward and *writes*
  its parameters' ``.grad``, so a layer (or a Parameter) used at two places in a network
  would differentiate only its second use and overwrite the first's gradient. ``Sequential``
  refuses such a network when it is built; make a second layer instead.
* ``dy = m.jvp(dx, tangents)`` is forward mode: the directional derivative of the last
  forward's output, dy = ∂y/∂x · dx + Σ_θ ∂y/∂θ · dθ, for an input tangent ``dx`` (the shape
  of x; None is zero) and parameter tangents ``tangents`` (a dict from the names
  ``named_parameters()`` yields to arrays of each parameter's shape; a missing name is zero).
  It reads the same cache as backward and changes nothing.
* ``dx_dot, grad_dots = m.backward_tangent(dout, dout_dot, dx, tangents)`` is the second-order
  rule: the tangent of backward itself (Pearlmutter's R-operator). Move x and θ along
  (dx, tangents) and the upstream gradient along ``dout_dot``; it returns how backward's
  outputs move: the tangent of ∂L/∂x, and a dict of the tangents of each ∂L/∂θ. Run from the
  loss's Hessian, it gives exact Hessian-vector products (``handnet.curvature``). A layer's
  rule reads its cache and changes nothing; a Sequential also runs its children's backward,
  so their ``.grad`` hold the gradient at dout afterwards.
* Parameters are the attributes that hold a ``Parameter``; sub-modules are the attributes
  that hold a ``Module``; buffers (state that is saved but not trained, like BatchNorm's
  running mean) are declared with ``register_buffer``, with the smallest value they may hold
  where there is one (a count, a variance: 0). ``parameters()``, ``state_dict()``
  and ``train()/eval()`` walk these, children after the module's own, in the order they
  were assigned, which is PyTorch's order: a state dict of ours loads into the same
  ``torch.nn`` model and back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from handnet._checks import as_float_array, check_state_value
from handnet.parameter import Parameter


class Module:
    """Base class of layers and networks.

    Attributes:
        training: True in train mode (the default), False after ``eval()``. Only layers whose
            behaviour differs between the modes (BatchNorm1d) read it.
    """

    def __init__(self) -> None:
        self.training = True
        self._buffer_names: list[str] = []
        self._buffer_minimum: dict[str, float] = {}

    # ---- the protocol -------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def backward_parameters(self, dout: np.ndarray) -> None:
        """Write every parameter's ``.grad`` as ``backward(dout)`` does, without returning dx."""
        self.backward(dout)

    def jvp(self, dx: np.ndarray | None = None, tangents: dict[str, np.ndarray] | None = None) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define jvp")

    def backward_tangent(self, dout: np.ndarray, dout_dot: np.ndarray, dx: np.ndarray | None = None,
                         tangents: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        raise NotImplementedError(f"{type(self).__name__} does not define backward_tangent")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # ---- tangents of the parameters ---------------------------------------------------
    def check_tangents(self, tangents: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
        """``tangents`` checked against ``named_parameters()``: every name known, every shape the parameter's.

        Returns a dict of float arrays (empty for None). Raises ValueError naming the bad entry.
        """
        if tangents is None or (isinstance(tangents, dict) and not tangents):
            return {}
        if not isinstance(tangents, dict):
            raise ValueError(f"{type(self).__name__}: tangents must be a dict from parameter names to arrays, "
                             f"got {type(tangents).__name__}")
        params = dict(self.named_parameters())
        checked = {}
        for name, value in tangents.items():
            if name not in params:
                raise ValueError(f"{type(self).__name__}: tangent for unknown parameter {name!r}; "
                                 f"the parameters are {list(params)}")
            value = as_float_array(value, type(self).__name__, f"tangent of {name!r}")
            if value.shape != params[name].shape:
                raise ValueError(f"{type(self).__name__}: the tangent of {name!r} must have the parameter's shape "
                                 f"{params[name].shape}, got {value.shape}")
            checked[name] = value
        return checked

    def own_tangents(self, tangents: dict[str, np.ndarray] | None, dtype) -> dict[str, np.ndarray]:
        """For a layer: the checked tangent of each of its own parameters in ``dtype``, zeros where none is given."""
        tangents = self.check_tangents(tangents)
        return {name: tangents[name].astype(dtype, copy=False) if name in tangents else np.zeros(p.shape, dtype)
                for name, p in self._own_parameters()}

    # ---- parameters, buffers, children ----------------------------------------------
    def register_buffer(self, name: str, value: np.ndarray, *, minimum: float | None = None) -> None:
        """Keep ``value`` as attribute ``name`` and in the state dict, but not as a parameter.

        ``minimum``: the smallest value the buffer can hold (0 for a count or a variance), or None;
        ``load_state_dict`` refuses a state below it, one the module could never have produced.
        """
        setattr(self, name, np.asarray(value))
        if name not in self._buffer_names:
            self._buffer_names.append(name)
        if minimum is not None:
            self._buffer_minimum[name] = float(minimum)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> list[Module]:
        return [m for _, m in self.named_children()]

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yield ``(prefix, module)`` for this module (prefix ``""``) and every descendant, depth first.

        The one tree walk: parameters, buffers and the state dict are all read off it. A child's
        prefix is its path with a trailing dot (``"0."``, ``"2.1."``), so ``prefix + "weight"``
        is a parameter's full name.
        """
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(prefix + name + ".")

    def modules(self) -> Iterator[Module]:
        """This module, then every descendant, depth first."""
        for _, m in self.named_modules():
            yield m

    def _own_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield name, value

    def named_parameters(self, recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(name, parameter)`` pairs, each module's own first, then its children's."""
        walk = self.named_modules() if recurse else [("", self)]
        for prefix, m in walk:
            for name, p in m._own_parameters():
                yield prefix + name, p

    def parameters(self, recurse: bool = True) -> list[Parameter]:
        return [p for _, p in self.named_parameters(recurse=recurse)]

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for prefix, m in self.named_modules():
            for name in m._buffer_names:
                yield prefix + name, getattr(m, name)

    # ---- modes ----------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set train mode (``mode=True``) or eval mode on this module and every descendant."""
        self.training = bool(mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    # ---- saving and loading -------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter and buffer, keyed like PyTorch (``"0.weight"``, ``"1.running_mean"``).

        Per module: its parameters, then its buffers, then its children's, as ``torch.nn`` orders them.
        """
        return {name: np.array(value, copy=True) for name, value in self._state_items()}

    def _state_items(self) -> Iterator[tuple[str, np.ndarray]]:
        for prefix, m in self.named_modules():
            for name, p in m._own_parameters():
                yield prefix + name, p.data
            for name in m._buffer_names:
                yield prefix + name, getattr(m, name)

    def load_state_dict(self, state: dict) -> None:
        """Copy every entry of ``state`` into this module's parameters and buffers.

        Every entry is checked by ``check_state_dict`` before anything is written, so on error the
        module is left exactly as it was.
        """
        for key, value in self.check_state_dict(state).items():
            self._assign_state(key, value)

    def check_state_dict(self, state: dict) -> dict[str, np.ndarray]:
        """``state``'s entries, checked and cast to this module's dtypes: what ``load_state_dict`` writes.

        Every key must be present and of the right shape, and no key may be extra. Each value
        must be one this module could hold: real and finite, and still finite after the cast to
        the dtype the module holds (1e300 is no float32); an integer buffer (``num_batches_tracked``)
        takes only integers that fit its dtype; and no buffer may be below the minimum it was
        registered with (a negative count or variance). ``save`` checks the model's own state with
        it, so that every checkpoint written can be loaded back. Nothing is changed.

        Raises:
            TypeError: ``state`` is not a dict.
            KeyError: a key is missing or unexpected.
            ValueError: a value breaks one of the rules above (the message names the key).
        """
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, Mapping):
            raise TypeError(f"{who}: state must be a dict of arrays keyed like state_dict() (e.g. another "
                            f"model's state_dict()), got {type(state).__name__}")
        expected = dict(self._state_items())
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in expected]
        if missing or unexpected:
            raise KeyError(f"{who}: missing keys {missing}, unexpected keys {unexpected}")
        minimum = {prefix + name: low for prefix, m in self.named_modules() for name, low in m._buffer_minimum.items()}
        return {key: check_state_value(key, state[key], current, minimum.get(key)) for key, current in expected.items()}

    def _assign_state(self, key: str, value: np.ndarray) -> None:
        prefix, _, name = key.rpartition(".")
        owner = dict(self.named_modules())[prefix + "." if prefix else ""]
        if isinstance(getattr(owner, name), Parameter):
            getattr(owner, name).data = value
        else:
            setattr(owner, name, value)

    # ---- printing -------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in children]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"
