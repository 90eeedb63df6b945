"""Logistic regression: mean binary cross-entropy of σ(Xw), plus an optional L2 penalty."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from handnet.linalg import gram_eigenvalue_range
from handnet.losses.objective import Objective, check_data, check_lam, finite_curvature


HESSIAN_ROWS = 2048   # rows of S^½X formed at a time: a block stays in cache while syrk reads it


class Logistic(Objective):
    """f(w) = (1/n) Σᵢ ℓ(xᵢᵀw, yᵢ) + λ/2 ‖w‖², with labels yᵢ ∈ {0, 1}.

    Value:     with margins z = Xw (n,) and ℓ(z, y) = −y log σ(z) − (1 − y) log(1 − σ(z)),
               f(w) = (1/n) Σᵢ [max(zᵢ, 0) − yᵢzᵢ + log(1 + e^(−|zᵢ|))] + (λ/2) wᵀw,
               the |z| form of ``bce_with_logits``: finite for margins of any size. With the sign
               qᵢ = 1 − 2yᵢ (+1 for y = 0, −1 for y = 1), max(z, 0) − yz = max(qz, 0) exactly, so
               f(w) = (1/n) [Σᵢ max(qᵢzᵢ, 0) + Σᵢ log(1 + e^(−|zᵢ|))] + (λ/2) wᵀw: two sums of terms
               ≥ 0, which lose no digits to cancellation.
    Gradient:  ∇f(w) = Xᵀ(σ(z) − y) / n + λw
               Derivation: ℓ = log(1 + e^z) − yz, so dℓ/dz = σ(z) − y; and dz = X dw.
    Hessian:   ∇²f(w) = XᵀSX / n + λI,  S = diag(σ(zᵢ)(1 − σ(zᵢ)))
               Derivation: dσ/dz = σ(1 − σ). We compute σ(z)(1 − σ(z)) = σ(z)·σ(−z) = e/(1 + e)²
               with e = e^(−|z|), which keeps its digits when σ(z) rounds to 1 (z ≳ 37), where
               1 − σ(z) would be exactly 0. XᵀSX = (S^½X)ᵀ(S^½X): numpy computes a product of a
               matrix with its own transpose by one triangle (BLAS syrk), half the flops of a
               general product, and the result is exactly symmetric. It is summed over blocks of
               ``HESSIAN_ROWS`` rows, Σ_blocks (S^½X)_bᵀ(S^½X)_b, so that the scaled copy of X is
               one block (it stays in cache while syrk reads it), never a second n×d array.
    Shared:    value, gradient and Hessian all start from z = Xw and e = e^(−|z|) ∈ (0, 1], and
               minimisers ask for two or three of them at the same w, so ``margins`` keeps the
               last w's pair; ``value_and_grad`` checks w and looks the pair up once for both.
               With that e, σ(z) = 1/(1 + e) for z ≥ 0 and e/(1 + e) for z < 0
               (``handnet.functional.sigmoid``, multiplied top and bottom by e^z when z < 0).
    Constants: σ(1 − σ) ≤ 1/4, so ∇²f ⪯ XᵀX/(4n) + λI: lipschitz = λ_max(XᵀX)/(4n) + λ.
               strong_convexity = λ: S → 0 for large margins, so no better bound holds for all w.
    Convention: dividing f by λ gives C Σᵢ ℓᵢ + ½‖w‖² with C = 1/(nλ), scikit-learn's
               ``LogisticRegression(C=1/(n*lam), fit_intercept=False)``; the value is torch's
               ``F.binary_cross_entropy_with_logits(X @ w, y) + lam/2 * w @ w``. For an intercept,
               add a column of ones to X (it is then penalised like the other weights).

    With λ = 0 and linearly separable classes there is no minimiser: if every margin
    (2yᵢ − 1)xᵢᵀw is positive, f(cw) decreases towards 0 as c → ∞. The same holds when the
    margins are all ≥ 0 and some are > 0 ("quasi-complete separation": the points with margin 0
    lie on the boundary and add log 2 whatever c is). ``no_minimiser`` detects such a w, so that
    minimisers stop and say so.

    Shapes:
        X: (n, d), y: (n,) with values in {0, 1}, w: (d,).
    Attributes:
        X, y: the data as float64 (not copied when they already are: change neither afterwards,
            the objective keeps results computed from them); lam: λ ≥ 0; n_samples = n;
            n_features = d.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, lam: float = 0.0) -> None:
        self.X, self.y = check_data(X, y, "Logistic")
        if not np.all((self.y == 0) | (self.y == 1)):
            bad = self.y[(self.y != 0) & (self.y != 1)]
            raise ValueError(f"Logistic: y must hold labels 0 and 1 only, got {bad[0]!r} "
                             f"(and {bad.size - 1} other values outside {{0, 1}})")
        self.lam = check_lam(lam, "Logistic")
        self.n_samples, self.n_features = self.X.shape
        self._sign = 1.0 - 2.0 * self.y                         # (n,): qᵢ = +1 for y = 0, −1 for y = 1
        self._last: tuple[bytes, np.ndarray, np.ndarray] | None = None   # (bits of w, z, e), see ``margins``

    def margins(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(z, e) for a checked w: the margins z = Xw (n,) and e = e^(−|z|) (n,).

        Computed once per w: the last w's bits (``w.tobytes()``, a copy) are kept with its pair,
        which is reused whenever w holds exactly those numbers again.
        """
        bits = w.tobytes()
        if self._last is None or self._last[0] != bits:
            z = self.X @ w                                      # (n, d) @ (d,) -> (n,)
            self._last = (bits, z, np.exp(-np.abs(z)))
        return self._last[1], self._last[2]

    def value(self, w: np.ndarray) -> float:
        w = self.check_w(w)
        return self._value(w, *self.margins(w))

    def grad(self, w: np.ndarray) -> np.ndarray:
        w = self.check_w(w)
        return self._grad(w, *self.margins(w))

    def value_and_grad(self, w: np.ndarray) -> tuple[float, np.ndarray]:
        w = self.check_w(w)
        z, e = self.margins(w)
        return self._value(w, z, e), self._grad(w, z, e)

    def _value(self, w: np.ndarray, z: np.ndarray, e: np.ndarray) -> float:
        total = np.maximum(self._sign * z, 0.0).sum() + np.log1p(e).sum()    # Σᵢ ℓ(zᵢ, yᵢ)
        return float(total) / self.n_samples + 0.5 * self.lam * float(w @ w)

    def _grad(self, w: np.ndarray, z: np.ndarray, e: np.ndarray) -> np.ndarray:
        p = np.where(z >= 0, 1.0, e) / (1.0 + e)                # σ(z), (n,)
        return self.X.T @ (p - self.y) / self.n_samples + self.lam * w   # (d, n) @ (n,) -> (d,)

    def hessian(self, w: np.ndarray) -> np.ndarray:
        z, e = self.margins(self.check_w(w))
        root_s = np.sqrt(e) / (1.0 + e)                         # √(σ(z)σ(−z)), (n,): S^½'s diagonal
        H = np.zeros((self.n_features, self.n_features))
        for start in range(0, self.n_samples, HESSIAN_ROWS):    # XᵀSX = Σ over blocks of rows
            rows = slice(start, start + HESSIAN_ROWS)
            B = self.X[rows] * root_s[rows, None]               # (r, d) = (S^½X)[rows]: row i scaled by √sᵢ
            H += B.T @ B                                        # (d, r) @ (r, d) -> (d, d), by syrk
        H /= self.n_samples
        H.flat[::self.n_features + 1] += self.lam               # + λI on the diagonal
        return H

    @cached_property
    def lipschitz(self) -> float:
        return finite_curvature(gram_eigenvalue_range(self.X)[1] / 4 + self.lam, self.X, "Logistic", "lipschitz")

    @property
    def strong_convexity(self) -> float:
        return self.lam

    def no_minimiser(self, w: np.ndarray) -> str | None:
        """A message if λ = 0 and w separates the classes (every margin ≥ 0, some > 0), else None."""
        if self.lam > 0:
            return None
        signed = -self._sign * self.margins(self.check_w(w))[0]   # (n,): (2yᵢ − 1)·zᵢ
        if np.all(signed >= 0) and np.any(signed > 0):
            return ("Logistic: the classes look separable — w classifies every sample correctly (margins ≥ 0, "
                    "some > 0), so with lam=0 the loss has no minimiser (it keeps decreasing as ‖w‖ grows); "
                    "use a penalty lam > 0")
        return None

    def __repr__(self) -> str:
        return f"Logistic(n_features={self.n_features}, lam={self.lam})"
