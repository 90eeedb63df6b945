"""Toy datasets from scikit-learn, split and standardised the same way every time.

Every loader returns a ``Dataset`` whose features are standardised with the statistics of the
training split only (the test split is scaled with the training mean and standard deviation,
as it would be for data not seen yet), split with a fixed seed (stratified by class for
classification), features float64 and class labels int64.

Classification: ``moons``, ``circles``, ``blobs`` (generated), ``digits``, ``iris``,
``breast_cancer`` (bundled with scikit-learn). Regression: ``diabetes`` (bundled) and
``linear_regression`` (generated, with a chosen condition number; not standardised, see there).

scikit-learn is imported inside the loaders, never by ``import handnet``; nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handnet._checks import check_int, check_real


@dataclass(frozen=True)
class Dataset:
    """A train/test split.

    Attributes:
        name: the loader's name, e.g. ``"digits"``.
        X_train: (N_train, D) float64.  y_train: (N_train,) int64 labels in [0, n_classes), or float64.
        X_test:  (N_test, D) float64.   y_test:  (N_test,), like y_train.
        n_classes: the number of classes, or None for regression.
        mean, scale: (D,) what was subtracted from and divided into the raw features (the training
            split's mean and standard deviation; a constant feature keeps scale 1), or None when the
            features were not standardised. ``standardise(X_raw)`` applies them to new data.
        coef: (D,) the weights that generated y (``linear_regression`` only), else None.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int | None
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    coef: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def is_classification(self) -> bool:
        return self.n_classes is not None

    def standardise(self, X_raw: np.ndarray) -> np.ndarray:
        """Scale raw features as the training features were: (X_raw − mean) / scale."""
        if self.mean is None:
            return np.asarray(X_raw, dtype=np.float64)
        return (np.asarray(X_raw, dtype=np.float64) - self.mean) / self.scale

    def __repr__(self) -> str:
        task = f"{self.n_classes} classes" if self.is_classification else "regression"
        return (f"Dataset({self.name!r}, train {self.X_train.shape}, test {self.X_test.shape}, {task})")


# ---- classification ----------------------------------------------------------------------------
def moons(n_samples: int = 1000, *, noise: float = 0.1, test_size: float = 0.25, seed: int = 0) -> Dataset:
    """Two interleaving half circles in 2-D (``sklearn.datasets.make_moons``), with Gaussian noise."""
    from sklearn.datasets import make_moons
    n_samples, noise = check_int(n_samples, "moons", "n_samples", low=2), check_real(noise, "moons", "noise")
    X, y = make_moons(n_samples, noise=noise, random_state=seed)
    return _split("moons", X, y, 2, test_size, seed)


def circles(n_samples: int = 1000, *, noise: float = 0.1, factor: float = 0.5, test_size: float = 0.25,
            seed: int = 0) -> Dataset:
    """A small circle inside a large one in 2-D (``make_circles``); ``factor`` is the ratio of radii."""
    from sklearn.datasets import make_circles
    if not 0 < factor < 1:
        raise ValueError(f"circles: factor must be in (0, 1), got {factor!r}")
    n_samples, noise = check_int(n_samples, "circles", "n_samples", low=2), check_real(noise, "circles", "noise")
    X, y = make_circles(n_samples, noise=noise, factor=factor, random_state=seed)
    return _split("circles", X, y, 2, test_size, seed)


def blobs(n_samples: int = 1000, *, centers: int = 3, n_features: int = 2, cluster_std: float = 1.0,
          test_size: float = 0.25, seed: int = 0) -> Dataset:
    """``centers`` isotropic Gaussian clusters in ``n_features`` dimensions (``make_blobs``), one per class."""
    from sklearn.datasets import make_blobs
    centers, n_features = check_int(centers, "blobs", "centers"), check_int(n_features, "blobs", "n_features")
    n_samples = check_int(n_samples, "blobs", "n_samples", low=2)
    X, y = make_blobs(n_samples, n_features=n_features, centers=centers, cluster_std=cluster_std, random_state=seed)
    return _split("blobs", X, y, int(centers), test_size, seed)


def digits(*, test_size: float = 0.25, seed: int = 0) -> Dataset:
    """1797 handwritten digits as 8×8 images flattened to 64 features, 10 classes (``load_digits``)."""
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    return _split("digits", X, y, 10, test_size, seed)


def iris(*, test_size: float = 0.25, seed: int = 0) -> Dataset:
    """150 iris flowers, 4 measurements, 3 species (``load_iris``)."""
    from sklearn.datasets import load_iris
    X, y = load_iris(return_X_y=True)
    return _split("iris", X, y, 3, test_size, seed)


def breast_cancer(*, test_size: float = 0.25, seed: int = 0) -> Dataset:
    """569 tumours, 30 features, 2 classes: 0 malignant, 1 benign (``load_breast_cancer``)."""
    from sklearn.datasets import load_breast_cancer
    X, y = load_breast_cancer(return_X_y=True)
    return _split("breast_cancer", X, y, 2, test_size, seed)


# ---- regression --------------------------------------------------------------------------------
def diabetes(*, test_size: float = 0.25, seed: int = 0) -> Dataset:
    """442 patients, 10 features, y = disease progression after a year (``load_diabetes``).

    The raw features (``scaled=False``) are standardised on the training split; y is left as it
    is (values from 25 to 346), float64.
    """
    from sklearn.datasets import load_diabetes
    X, y = load_diabetes(return_X_y=True, scaled=False)
    return _split("diabetes", X, y, None, test_size, seed)


def linear_regression(n_samples: int = 200, n_features: int = 10, *, condition_number: float = 100.0,
                      noise: float = 0.1, test_size: float = 0.25, seed: int = 0) -> Dataset:
    """y = X w + noise·ε, where the training design matrix has a chosen condition number.

    κ = ``condition_number`` is the condition number of XᵀX for X = X_train, that is of the
    Hessian of least squares, the number that sets gradient descent's speed. X itself then has
    condition number √κ. Construction, with n = N_train and D = n_features:
        X_train = √n · U diag(s) Vᵀ,    s = (1, …, √κ) spaced geometrically (D values),
    U (n, D) with orthonormal columns and V (D, D) orthogonal, both random. Hence
        (1/n) X_trainᵀ X_train = V diag(s²) Vᵀ,
    whose eigenvalues run exactly from 1 to κ. Test rows are X_test = Z diag(s) Vᵀ with Z standard
    normal: fresh samples with the same population covariance. w (``Dataset.coef``) and ε are
    standard normal.

    The features are *not* standardised (that would change κ); ``mean`` and ``scale`` are None.
    The split is by construction (the first N_train samples are the training set), with
    N_test = ⌈test_size · n_samples⌉ (as in scikit-learn's ``train_test_split``).
    """
    who = "linear_regression"
    n_samples, d = check_int(n_samples, who, "n_samples", low=2), check_int(n_features, who, "n_features")
    n_test = int(np.ceil(_test_size(test_size, who) * n_samples))
    n_train = n_samples - n_test
    if n_train < d:
        raise ValueError(f"linear_regression: the training split must have at least n_features={d} rows for "
                         f"X_train to have full column rank, got {n_train}")
    if not (isinstance(condition_number, (int, float, np.integer, np.floating)) and 1 <= condition_number < np.inf):
        raise ValueError(f"linear_regression: condition_number must be a finite number ≥ 1, got {condition_number!r}")
    if d == 1 and condition_number != 1:
        raise ValueError("linear_regression: with n_features=1 the condition number can only be 1")
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((n_train, d)))   # (n, D), orthonormal columns
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))         # (D, D), orthogonal
    s = np.geomspace(1.0, np.sqrt(float(condition_number)), d)
    X_train = np.sqrt(n_train) * (U * s) @ V.T               # (n, D) @ (D, D); U * s = U diag(s)
    X_test = (rng.standard_normal((n_test, d)) * s) @ V.T
    w = rng.standard_normal(d)
    y_train = X_train @ w + check_real(noise, who, "noise") * rng.standard_normal(n_train)
    y_test = X_test @ w + noise * rng.standard_normal(n_test)
    return Dataset("linear_regression", X_train, y_train, X_test, y_test, None, coef=w)


# ---- helpers -----------------------------------------------------------------------------------
def _split(name: str, X: np.ndarray, y: np.ndarray, n_classes: int | None, test_size: float, seed: int) -> Dataset:
    """Split with a fixed seed (stratified for classification), then standardise on the training split."""
    from sklearn.model_selection import train_test_split
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64 if n_classes is not None else np.float64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=_test_size(test_size, name), random_state=seed, stratify=y if n_classes is not None else None)
    mean = X_train.mean(axis=0)
    scale = X_train.std(axis=0)
    scale[scale == 0] = 1.0  # a feature constant on the training split is only centred
    return Dataset(name, (X_train - mean) / scale, y_train, (X_test - mean) / scale, y_test, n_classes, mean, scale)


def _test_size(value, who: str) -> float:
    if not (isinstance(value, (float, np.floating)) and 0 < value < 1):
        raise ValueError(f"{who}: test_size must be a fraction in (0, 1), got {value!r}")
    return float(value)
