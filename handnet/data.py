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
        """Scale raw features as the training features were: (X_raw − mean) / scale. X_raw: (N, D)."""
        X_raw = np.asarray(X_raw, dtype=np.float64)
        if X_raw.ndim != 2 or X_raw.shape[1] != self.n_features:   # numpy would broadcast (N, 1) to (N, D)
            raise ValueError(f"Dataset.standardise: X_raw must have shape (N, {self.n_features}), one column per "
                             f"feature of {self.name!r}, got {X_raw.shape}")
        if self.mean is None:
            return X_raw
        return (X_raw - self.mean) / self.scale

    def __repr__(self) -> str:
        task = f"{self.n_classes} classes" if self.is_classification else "regression"
        return (f"Dataset({self.name!r}, train {self.X_train.shape}, test {self.X_test.shape}, {task})")


# ---- classification ----------------------------------------------------------------------------
def moons(n_samples: int = 1000, *, noise: float = 0.1, test_size: float = 0.25, seed: int = 0) -> Dataset:
    """Two interleaving half circles in 2-D (``sklearn.datasets.make_moons``), with Gaussian noise."""
    from sklearn.datasets import make_moons
    n_samples, noise = check_int(n_samples, "moons", "n_samples", low=2), check_real(noise, "moons", "noise")
    X, y = make_moons(n_samples, noise=noise, random_state=_seed(seed, "moons"))
    return _split("moons", X, y, 2, test_size, seed)


def circles(n_samples: int = 1000, *, noise: float = 0.1, factor: float = 0.5, test_size: float = 0.25,
            seed: int = 0) -> Dataset:
    """A small circle inside a large one in 2-D (``make_circles``); ``factor`` is the ratio of radii."""
    from sklearn.datasets import make_circles
    factor = check_real(factor, "circles", "factor (the ratio of the radii)", low_open=True, high=1.0)
    n_samples, noise = check_int(n_samples, "circles", "n_samples", low=2), check_real(noise, "circles", "noise")
    X, y = make_circles(n_samples, noise=noise, factor=factor, random_state=_seed(seed, "circles"))
    return _split("circles", X, y, 2, test_size, seed)


def blobs(n_samples: int = 1000, *, centers: int = 3, n_features: int = 2, cluster_std: float = 1.0,
          test_size: float = 0.25, seed: int = 0) -> Dataset:
    """``centers`` isotropic Gaussian clusters in ``n_features`` dimensions (``make_blobs``), one per class."""
    from sklearn.datasets import make_blobs
    centers, n_features = check_int(centers, "blobs", "centers"), check_int(n_features, "blobs", "n_features")
    n_samples = check_int(n_samples, "blobs", "n_samples", low=2)
    if centers > n_samples:
        raise ValueError(f"blobs: centers={centers} must be at most n_samples={n_samples}: each center is a class "
                         f"and needs samples of its own")
    X, y = make_blobs(n_samples, n_features=n_features, centers=centers, cluster_std=cluster_std,
                      random_state=_seed(seed, "blobs"))
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
    rng = np.random.default_rng(_seed(seed, who))
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
    test_size, seed = _test_size(test_size, name), _seed(seed, name)
    if n_classes is not None:
        _check_stratifiable(name, y, n_classes, test_size)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y if n_classes is not None else None)
    mean = X_train.mean(axis=0)
    scale = X_train.std(axis=0)
    scale[scale == 0] = 1.0  # a feature constant on the training split is only centred
    return Dataset(name, (X_train - mean) / scale, y_train, (X_test - mean) / scale, y_test, n_classes, mean, scale)


def _check_stratifiable(name: str, y: np.ndarray, n_classes: int, test_size: float) -> None:
    """ValueError, saying how many samples would do, unless a stratified split of y is possible:
    every class needs 2 samples (one per side) and each side one sample of every class."""
    n = len(y)
    n_test = int(np.ceil(test_size * n))
    counts = np.bincount(y, minlength=n_classes)
    if counts.min() >= 2 and min(n_test, n - n_test) >= n_classes:
        return
    enough = next(m for m in range(2 * n_classes, 10**9)               # for classes of equal size
                  if min(int(np.ceil(test_size * m)), m - int(np.ceil(test_size * m))) >= n_classes)
    raise ValueError(f"{name}: n_samples={n} is too few for a stratified split of {n_classes} classes with "
                     f"test_size={test_size}: every class needs a sample on each side, so at least 2 samples per "
                     f"class (the smallest class has {counts.min()}) and at least {n_classes} per side (the split "
                     f"gives {n - n_test} and {n_test}); use n_samples ≥ {enough}")


def _seed(value, who: str) -> int:
    """The seed of the generator and the split: an integer in [0, 2³²), as scikit-learn takes it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < 2**32:
        raise ValueError(f"{who}: seed must be an integer in [0, 2**32), got {value!r}")
    return int(value)


def _test_size(value, who: str) -> float:
    if not (isinstance(value, (float, np.floating)) and 0 < value < 1):
        raise ValueError(f"{who}: test_size must be a fraction in (0, 1), got {value!r}")
    return float(value)
