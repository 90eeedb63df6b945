"""Module: the base class every layer and network is built from.

The protocol (every layer in ``handnet.layers`` follows it):

* ``y = m.forward(x)`` (or ``m(x)``) computes the output and caches, under named attributes,
  exactly what ``backward`` will need.
* ``dx = m.backward(dout)`` takes ``dout = ∂L/∂y`` (the shape of ``y``) and returns
  ``dx = ∂L/∂x`` (the shape of ``x``). It reads only the cache of the last forward, *writes*
  each parameter's ``.grad`` (never adds to it) and never changes a parameter's value:
  updating parameters is the optimizer's job.
* Parameters are the attributes that hold a ``Parameter``; sub-modules are the attributes
  that hold a ``Module``; buffers (state that is saved but not trained, like BatchNorm's
  running mean) are declared with ``register_buffer``. ``parameters()``, ``state_dict()``
  and ``train()/eval()`` walk these, children after the module's own, in the order they
  were assigned, which is PyTorch's order: a state dict of ours loads into the same
  ``torch.nn`` model and back.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

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

    # ---- the protocol -------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # ---- parameters, buffers, children ----------------------------------------------
    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Keep ``value`` as attribute ``name`` and in the state dict, but not as a parameter."""
        setattr(self, name, np.asarray(value))
        if name not in self._buffer_names:
            self._buffer_names.append(name)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> list[Module]:
        return [m for _, m in self.named_children()]

    def modules(self) -> Iterator[Module]:
        """This module, then every descendant, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(name, parameter)`` pairs, this module's own first, then each child's."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        if recurse:
            for name, child in self.named_children():
                yield from child.named_parameters(prefix + name + ".")

    def parameters(self, recurse: bool = True) -> list[Parameter]:
        return [p for _, p in self.named_parameters(recurse=recurse)]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for name in self._buffer_names:
            yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child.named_buffers(prefix + name + ".")

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

    def _state_items(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value.data
        for name in self._buffer_names:
            yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child._state_items(prefix + name + ".")

    def load_state_dict(self, state: dict) -> None:
        """Copy every entry of ``state`` into this module's parameters and buffers.

        Every key must be present and of the right shape, and no key may be extra; all of this
        is checked before anything is written, so on error the module is left exactly as it was.
        Values are cast to the dtype the module already holds, but only where nothing is lost:
        a float may go to float32 or float64, an integer buffer (``num_batches_tracked``) takes
        only integers.

        Raises:
            KeyError: a key is missing or unexpected.
            ValueError: a value has the wrong shape, is not an array of real numbers, is not finite,
                or holds fractions for an integer buffer.
        """
        expected = dict(self._state_items())
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in expected]
        if missing or unexpected:
            raise KeyError(
                f"{type(self).__name__}.load_state_dict: missing keys {missing}, unexpected keys {unexpected}"
            )
        converted = {}
        for key, current in expected.items():
            value = np.asarray(state[key])
            if value.dtype.kind not in "biuf":  # bool, int, unsigned, float: no complex, str or object
                raise ValueError(f"load_state_dict: {key!r} must hold real numbers, got dtype {value.dtype}")
            if value.shape != current.shape:
                raise ValueError(f"load_state_dict: {key!r} has shape {value.shape}, the model expects {current.shape}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"load_state_dict: {key!r} holds NaN or inf")
            if current.dtype.kind in "iu" and not np.all(value == np.round(value)):
                raise ValueError(f"load_state_dict: {key!r} is an integer buffer, got fractional values")
            converted[key] = np.array(value, dtype=current.dtype, copy=True)
        for key, value in converted.items():
            self._assign_state(key.split("."), value)

    def _assign_state(self, path: list[str], value: np.ndarray) -> None:
        if len(path) > 1:
            dict(self.named_children())[path[0]]._assign_state(path[1:], value)
        elif isinstance(getattr(self, path[0]), Parameter):
            getattr(self, path[0]).data = value
        else:
            setattr(self, path[0], value)

    # ---- printing -------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in children]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"
