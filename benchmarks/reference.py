"""The straight-line NumPy references: the MLP step with no framework objects, and the GEMM bound.

``reference_step`` is what a student would write by hand for the network D-H-H-C
    Linear → [BatchNorm1d] → ReLU → Linear → [BatchNorm1d] → ReLU → Linear → softmax cross-entropy
with SGD and momentum: plain arrays in a dict, the forward pass, the backward pass and the update
one after another, the same math as handnet and torch (and the same conventions: torch's momentum
buffer, BatchNorm's biased variance to normalise and unbiased one stored). It computes no
gradient for the input X, which no one needs; handnet's first Linear computes it anyway.

``gemm_bound`` is the time no implementation can beat with numpy's BLAS: only the step's matrix
products, written into preallocated arrays. Forward 3: Z₁ = X W₁ᵀ, Z₂ = A₁ W₂ᵀ, Z₃ = A₂ W₃ᵀ;
backward 5: dW₃ = dZ₃ᵀ A₂, dA₂ = dZ₃ W₃, dW₂ = dZ₂ᵀ A₁, dA₁ = dZ₂ W₂, dW₁ = dZ₁ᵀ X (no dX).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPS = 1e-5          # BatchNorm1d's ε, as in handnet and torch
BN_MOMENTUM = 0.1   # BatchNorm1d's running-statistics momentum m: new = (1 − m)·old + m·batch


def reference_params(state: dict[str, np.ndarray], batchnorm: bool, dtype) -> dict[str, np.ndarray]:
    """Copy a handnet state dict into flat arrays W1, b1, W2, b2, W3, b3 (and g1, be1, rm1, rv1, …
    for BatchNorm's γ, β and running statistics), all of ``dtype``."""
    step = 3 if batchnorm else 2      # Linear, [BatchNorm1d], ReLU: the index of each Linear
    p = {}
    for layer in range(3):
        p[f"W{layer + 1}"] = state[f"{step * layer}.weight"].astype(dtype)
        p[f"b{layer + 1}"] = state[f"{step * layer}.bias"].astype(dtype)
    if batchnorm:
        for layer in range(2):
            k = step * layer + 1
            for ours, theirs in (("g", "weight"), ("be", "bias"), ("rm", "running_mean"), ("rv", "running_var")):
                p[f"{ours}{layer + 1}"] = state[f"{k}.{theirs}"].astype(dtype)
    return p


def reference_step(p: dict[str, np.ndarray], velocity: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray,
                   lr: float, momentum: float, batchnorm: bool) -> float:
    """One SGD-with-momentum step on the batch (X (N, D), labels y (N,)); returns the loss."""
    n = X.shape[0]
    grads, cache = {}, []
    a = X
    for k in (1, 2):                                        # hidden layers: Linear, [BN], ReLU
        z = a @ p[f"W{k}"].T + p[f"b{k}"]                   # (N, D) @ (D, H) -> (N, H)
        if batchnorm:
            mean, var = z.mean(axis=0), z.var(axis=0)       # (H,), biased variance
            inv_std = 1.0 / np.sqrt(var + EPS)
            x_hat = (z - mean) * inv_std
            z = x_hat * p[f"g{k}"] + p[f"be{k}"]
            p[f"rm{k}"] = (1 - BN_MOMENTUM) * p[f"rm{k}"] + BN_MOMENTUM * mean
            p[f"rv{k}"] = (1 - BN_MOMENTUM) * p[f"rv{k}"] + BN_MOMENTUM * var * (n / (n - 1))
        else:
            x_hat = inv_std = None
        a_out = np.maximum(z, 0)
        cache.append((a, a_out, x_hat, inv_std))           # a_out > 0 exactly where z > 0: no mask kept
        a = a_out
    logits = a @ p["W3"].T + p["b3"]                        # (N, H) @ (H, C) -> (N, C)

    # softmax cross-entropy, mean over the batch, and its fused gradient (softmax − onehot) / N
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    loss = float(np.mean(log_sum[:, 0] - shifted[rows, y]))
    dz = np.exp(shifted - log_sum)
    dz[rows, y] -= 1
    dz /= n

    grads["W3"], grads["b3"] = dz.T @ a, dz.sum(axis=0)     # (C, N) @ (N, H) -> (C, H)
    da = dz @ p["W3"]                                       # (N, C) @ (C, H) -> (N, H)
    for k in (2, 1):
        a_in, a_out, x_hat, inv_std = cache[k - 1]
        du = da * (a_out > 0)                               # ReLU
        if batchnorm:
            grads[f"g{k}"], grads[f"be{k}"] = (du * x_hat).sum(axis=0), du.sum(axis=0)
            g = du * p[f"g{k}"]
            dz = (inv_std / n) * (n * g - g.sum(axis=0) - x_hat * (g * x_hat).sum(axis=0))
        else:
            dz = du
        grads[f"W{k}"], grads[f"b{k}"] = dz.T @ a_in, dz.sum(axis=0)   # (H, N) @ (N, D) -> (H, D)
        if k > 1:
            da = dz @ p[f"W{k}"]                            # (N, H) @ (H, H) -> (N, H); none for X

    for name, g in grads.items():                           # torch's SGD: b = g, then b = μb + g
        if name in velocity:
            velocity[name] *= momentum
            velocity[name] += g
        else:
            velocity[name] = g.copy()
        p[name] -= lr * velocity[name]
    return loss


def gemm_bound(X: np.ndarray, dims: tuple[int, int, int, int], dtype) -> Callable[[], None]:
    """A function doing only the 8 matrix products of one step of the network dims = (D, H, H, C) on X (N, D),
    into arrays allocated here once. The values are random: a product's time does not depend on them."""
    d, h, c = dims[0], dims[1], dims[3]
    n = X.shape[0]
    rng = np.random.default_rng(0)
    X = X.astype(dtype)
    W1, W2, W3 = (rng.standard_normal(s).astype(dtype) for s in ((h, d), (h, h), (c, h)))
    Z1, Z2, dZ1, dZ2, dA1, dA2 = (np.empty((n, h), dtype) for _ in range(6))
    Z3 = np.empty((n, c), dtype)
    dW1, dW2, dW3 = (np.empty(s, dtype) for s in ((h, d), (h, h), (c, h)))
    dZ3 = rng.standard_normal((n, c)).astype(dtype)
    dZ1[:], dZ2[:] = 1, 1

    def products() -> None:
        np.matmul(X, W1.T, out=Z1)        # (N, D) @ (D, H)
        np.matmul(Z1, W2.T, out=Z2)       # (N, H) @ (H, H)
        np.matmul(Z2, W3.T, out=Z3)       # (N, H) @ (H, C)
        np.matmul(dZ3.T, Z2, out=dW3)     # (C, N) @ (N, H)
        np.matmul(dZ3, W3, out=dA2)       # (N, C) @ (C, H)
        np.matmul(dZ2.T, Z1, out=dW2)     # (H, N) @ (N, H)
        np.matmul(dZ2, W2, out=dA1)       # (N, H) @ (H, H)
        np.matmul(dZ1.T, X, out=dW1)      # (H, N) @ (N, D)
    return products
