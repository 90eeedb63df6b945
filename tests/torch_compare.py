"""The one place the tests meet PyTorch: build torch's twin of a handnet model and compare numbers.

Every comparison runs in float64 with a random upstream gradient (an all-ones gradient would
make BatchNorm's dx exactly zero and the comparison empty) and measures the relative error
    max |ours − torch| / max |torch|
which must be ≤ 1e-10 unless a test says otherwise.

A tensor that is zero by mathematics is rounding noise in both libraries, and the relative
error of two noises means nothing. Such tensors do occur: the bias of a Linear just before
BatchNorm1d (the batch mean cancels it), or anything behind a ReLU that is dead on the whole
batch. So within one forward/backward pass a tensor also passes when
    max |ours − torch| ≤ 1e-12 · S,   S = the largest |value| among all tensors of that pass,
i.e. when the difference is a hundred times below the tolerance measured against the pass's
own scale. A real error in a gradient of the size of the others cannot hide below that.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

import handnet as hn
from handnet.torch_bridge import TRANSLATIONS

torch.set_default_dtype(torch.float64)

TOL = 1e-10

# The layers that have a torch twin: the bridge's table is the one list of them.
TORCH_TWINS = {row.handnet for row in TRANSLATIONS}


def torch_twin(module: hn.Module) -> torch.nn.Module:
    """torch's model of the same structure, with our weights, buffers and per-module modes, in float64.

    ``hn.to_torch`` loads with ``load_state_dict(strict=True)``, which doubles as a check that our
    state-dict keys and shapes are torch's.
    """
    return hn.to_torch(module, dtype=torch.float64)


def as_numpy(value) -> np.ndarray:
    """A torch tensor or an array-like as a float64 ndarray."""
    if isinstance(value, torch.Tensor):
        value = value.detach().numpy()
    return np.asarray(value, dtype=np.float64)


def rel_err(ours, theirs) -> float:
    ours, theirs = as_numpy(ours), as_numpy(theirs)
    assert ours.shape == theirs.shape, f"shapes differ: ours {ours.shape}, torch {theirs.shape}"
    scale = np.max(np.abs(theirs)) if theirs.size else 0.0
    diff = np.max(np.abs(ours - theirs)) if theirs.size else 0.0
    return float(diff / scale) if scale > 0 else float(diff)


def assert_close(ours, theirs, what: str, tol: float = TOL, zero_atol: float = 0.0) -> None:
    """Assert rel_err(ours, theirs) ≤ tol, or max |ours − theirs| ≤ zero_atol (see the module docstring)."""
    err = rel_err(ours, theirs)
    if zero_atol and np.max(np.abs(as_numpy(ours) - as_numpy(theirs))) <= zero_atol:
        return
    assert err <= tol, f"{what}: relative error {err:.3e} against torch exceeds {tol:.0e}"


def compare_with_torch(module: hn.Module, x: np.ndarray, *, rng: np.random.Generator, steps: int = 1,
                       tol: float = TOL) -> None:
    """Forward, input gradient, every parameter gradient and every buffer must equal torch's.

    Runs ``steps`` forward/backward passes on fresh inputs (of x's shape) so that running
    statistics have moved several times before they are compared.
    """
    twin = torch_twin(module)
    for step in range(steps):
        xs = x if step == 0 else rng.standard_normal(x.shape)
        xt = torch.tensor(xs, requires_grad=True)
        y = module(xs)
        yt = twin(xt)
        dout = rng.standard_normal(y.shape)
        dx = module.backward(dout)
        yt.backward(torch.as_tensor(dout))
        theirs = dict(twin.named_parameters())
        pairs = [(f"forward (step {step})", y, yt), (f"input gradient (step {step})", dx, xt.grad)]
        pairs += [(f"gradient of {name} (step {step})", p.grad, theirs[name].grad)
                  for name, p in module.named_parameters()]
        their_state = twin.state_dict()
        pairs += [(f"state {name} (step {step})", value, their_state[name])
                  for name, value in module.state_dict().items()]
        scale = max(np.abs(as_numpy(t)).max(initial=0.0) for _, _, t in pairs)
        for what, ours, torchs in pairs:
            assert_close(ours, torchs, what, tol, zero_atol=1e-12 * scale)
        for p in theirs.values():
            p.grad = None


@contextmanager
def torch_dropout_with_our_masks(model: hn.Module) -> Iterator[None]:
    """Inside, torch's dropout in train mode uses the masks our Dropout layers drew at their last forward.

    torch's ``F.dropout`` draws its own mask and cannot be handed one, so in train mode the two
    libraries would compute two different random functions. Given the mask, (inverted) dropout
    is the function x ↦ x ⊙ keep / (1 − p); here ``F.dropout``, which ``nn.Dropout`` calls, is
    replaced by exactly that, in torch ops, so that torch's autograd and torch.func differentiate
    it, with the p of torch's twin (translated by the bridge) and the keep pattern of ours.
    ``test_torch_dropout_is_x_times_keep_over_one_minus_p`` checks that torch's own dropout has
    this form. In eval mode torch's dropout is left as it is, the identity.

    The k-th train-mode dropout torch runs in a forward pass is given the mask of our k-th
    Dropout (in ``modules()`` order) whose last forward ran in train mode; so our forward must
    come first, as in every helper here. Models without a Dropout are unaffected.
    """
    calls = [0]
    original = torch.nn.functional.dropout

    def dropout(input, p=0.5, training=True, inplace=False):
        if not training:
            return original(input, p, training, inplace)
        ours = [m for m in model.modules() if isinstance(m, hn.layers.Dropout) and m.mask is not None]
        layer = ours[calls[0] % len(ours)]
        calls[0] += 1
        return input * torch.as_tensor(layer.mask != 0) / (1 - p)

    torch.nn.functional.dropout = dropout
    try:
        yield
    finally:
        torch.nn.functional.dropout = original


def torch_loss(torch_fn, pred: np.ndarray, target) -> tuple[float, torch.Tensor]:
    """torch's value and gradient ∂L/∂pred of ``torch_fn(pred, target)`` (e.g. F.cross_entropy), in float64."""
    pred_t = torch.tensor(pred, dtype=torch.float64, requires_grad=True)
    value = torch_fn(pred_t, torch.as_tensor(target))
    value.backward()
    return value.item(), pred_t.grad


def functional_twin(module: hn.Module):
    """torch's model as a pure function ``f(params, x)`` of a dict of parameter tensors (our names).

    For ``torch.func`` (jvp, jacfwd, jacrev) and ``torch.autograd.functional.hessian``. A BatchNorm1d
    in train mode becomes torch's batch norm on batch statistics with no running statistics, so
    the function has no side effects (torch.func refuses to trace the in-place buffer update);
    in eval mode it reads the running statistics it was loaded with.
    """
    twin = torch_twin(module)
    for m in twin.modules():
        if isinstance(m, torch.nn.BatchNorm1d) and m.training:
            m.track_running_stats, m.running_mean, m.running_var, m.num_batches_tracked = False, None, None, None

    def f(params: dict, x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(twin, params, (x,))

    return f


def torch_params(module: hn.Module) -> dict:
    """Our parameters as float64 torch tensors, keyed by our (torch's) names."""
    return {name: torch.tensor(p.data, dtype=torch.float64) for name, p in module.named_parameters()}


def compare_backward_tangent_with_torch(module: hn.Module, x: np.ndarray, *, rng: np.random.Generator,
                                        tol: float = TOL) -> None:
    """The second-order rule equals torch's forward-over-reverse: torch.func.jvp of torch's vjp.

    Moves x, every parameter and the upstream gradient along random tangents at once, and compares
    the tangent of ∂L/∂x and of every parameter gradient.
    """
    y = module(x)
    f, params = functional_twin(module), torch_params(module)
    dout, dout_dot, dx = rng.standard_normal(y.shape), rng.standard_normal(y.shape), rng.standard_normal(x.shape)
    tangents = {name: rng.standard_normal(p.shape) for name, p in module.named_parameters()}
    ours_dx, ours_grads = module.backward_tangent(dout, dout_dot, dx, tangents)

    def backward(xt, pt, gt):
        _, vjp = torch.func.vjp(lambda a, b: f(b, a), xt, pt)
        return vjp(gt)

    t = torch.as_tensor
    _, (their_dx, their_grads) = torch.func.jvp(
        backward, (t(x), params, t(dout)), (t(dx), {k: t(v) for k, v in tangents.items()}, t(dout_dot)))
    pairs = [("tangent of the input gradient", ours_dx, their_dx)]
    pairs += [(f"tangent of the gradient of {name}", ours_grads.get(name, np.zeros(p.shape)), their_grads[name])
              for name, p in module.named_parameters()]
    # A tangent that is zero by mathematics (a bias just before BatchNorm) is a sum over the batch of
    # terms that cancel; its rounding noise is judged against the largest tangent of the pass, with the
    # same 1e-10 as the relative test, since a second derivative rounds more than a first.
    scale = max(np.abs(as_numpy(theirs)).max(initial=0.0) for _, _, theirs in pairs)
    for what, ours, theirs in pairs:
        assert_close(ours, theirs, f"{type(module).__name__}: {what}", tol, zero_atol=tol * scale)


def compare_objective_with_torch(ours, theirs, w: np.ndarray) -> None:
    """An objective's value, gradient (alone and as ``value_and_grad``'s pair) and Hessian at w equal torch
    autograd's of ``theirs`` (a function of a tensor)."""
    wt = torch.tensor(w, requires_grad=True)
    value = theirs(wt)
    value.backward()
    assert_close(ours.value(w), value.item(), "value")
    assert_close(ours.grad(w), wt.grad, "gradient")
    joint_value, joint_grad = ours.value_and_grad(w)
    assert_close(joint_value, value.item(), "value of value_and_grad")
    assert_close(joint_grad, wt.grad, "gradient of value_and_grad")
    assert_close(ours.hessian(w), torch.autograd.functional.hessian(theirs, torch.tensor(w)), "Hessian")
