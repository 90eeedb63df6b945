"""The dataset loaders: shapes, dtypes, standardisation on the training split only, fixed seeds,
the condition number of the regression generator, and that scikit-learn is imported only on use."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from handnet import data

LOADERS = {
    # name: (loader, n_samples, n_features, n_classes)
    "moons": (lambda: data.moons(200), 200, 2, 2),
    "circles": (lambda: data.circles(200), 200, 2, 2),
    "blobs": (lambda: data.blobs(200, centers=4, n_features=3), 200, 3, 4),
    "digits": (data.digits, 1797, 64, 10),
    "iris": (data.iris, 150, 4, 3),
    "breast_cancer": (data.breast_cancer, 569, 30, 2),
    "diabetes": (data.diabetes, 442, 10, None),
}


@pytest.mark.parametrize("name", LOADERS)
def test_loader_gives_a_float64_split_with_int64_labels_and_the_documented_sizes(name):
    load, n, d, n_classes = LOADERS[name]
    ds = load()
    assert ds.name == name and ds.n_classes == n_classes and ds.n_features == d
    assert len(ds.X_test) == int(np.ceil(0.25 * n)) and len(ds.X_train) + len(ds.X_test) == n
    assert ds.X_train.dtype == ds.X_test.dtype == np.float64
    assert ds.X_train.shape == (len(ds.y_train), d) and ds.X_test.shape == (len(ds.y_test), d)
    if n_classes is None:
        assert ds.y_train.dtype == np.float64 and not ds.is_classification
    else:
        assert ds.y_train.dtype == ds.y_test.dtype == np.int64 and ds.is_classification
        assert set(np.unique(ds.y_train)) == set(range(n_classes)) == set(np.unique(ds.y_test))


@pytest.mark.parametrize("name", LOADERS)
def test_features_are_standardised_with_the_training_statistics_only(name):
    ds = LOADERS[name][0]()
    varying = ds.scale != 1.0  # constant features (digits' blank corner pixels) are only centred
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.std(axis=0)[varying], 1, rtol=1e-12)
    # the test split went through the same affine map: undoing it with the train statistics
    # gives back raw data, on which standardise() is the identity we built
    raw_test = ds.X_test * ds.scale + ds.mean
    np.testing.assert_allclose(ds.standardise(raw_test), ds.X_test, atol=1e-12)
    assert np.abs(ds.X_test.mean(axis=0)).max() > 1e-6  # not re-centred on itself


def test_same_seed_gives_the_same_split_and_another_seed_another():
    a, b, c = data.iris(seed=3), data.iris(seed=3), data.iris(seed=4)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_train, c.y_train)


def test_split_is_stratified_by_class():
    ds = data.breast_cancer()
    assert abs(ds.y_train.mean() - ds.y_test.mean()) < 0.01


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1e4])
def test_linear_regression_training_hessian_has_eigenvalues_exactly_from_1_to_kappa(kappa):
    ds = data.linear_regression(300, 8, condition_number=kappa, noise=0.0, seed=1)
    n = len(ds.X_train)
    eig = np.linalg.eigvalsh(ds.X_train.T @ ds.X_train / n)
    np.testing.assert_allclose([eig.min(), eig.max()], [1.0, kappa], rtol=1e-10)
    np.testing.assert_allclose(np.linalg.cond(ds.X_train), np.sqrt(kappa), rtol=1e-10)
    # noise=0: y is exactly X w on both splits
    np.testing.assert_allclose(ds.X_train @ ds.coef, ds.y_train, atol=1e-10)
    np.testing.assert_allclose(ds.X_test @ ds.coef, ds.y_test, atol=1e-10)
    assert ds.mean is None and ds.scale is None and ds.n_classes is None


def test_linear_regression_test_rows_share_the_training_covariance():
    ds = data.linear_regression(20000, 3, condition_number=9.0, noise=0.0, seed=0)
    cov_train = ds.X_train.T @ ds.X_train / len(ds.X_train)
    cov_test = ds.X_test.T @ ds.X_test / len(ds.X_test)
    assert np.abs(cov_test - cov_train).max() < 0.3  # 5000 samples: sampling error ≈ 9·√(2/5000) ≈ 0.2 at most


@pytest.mark.parametrize("call, argument", [
    (lambda: data.moons(1), "n_samples"),
    (lambda: data.moons(noise=-0.1), "noise"),
    (lambda: data.moons(test_size=1.5), "test_size"),
    (lambda: data.circles(factor=1.0), "factor"),
    (lambda: data.blobs(centers=0), "centers"),
    (lambda: data.linear_regression(condition_number=0.5), "condition_number"),
    (lambda: data.linear_regression(20, 30), "n_features"),
    (lambda: data.linear_regression(n_features=0), "n_features"),
    (lambda: data.linear_regression(n_features=1, condition_number=10.0), "n_features=1"),
    (lambda: data.moons(3), "n_samples=3 is too few .* use n_samples ≥ 5"),
    (lambda: data.blobs(10, centers=20), "centers=20 must be at most n_samples=10"),
    (lambda: data.blobs(30, centers=10), "n_samples=30 is too few .* use n_samples ≥ 37"),
    (lambda: data.circles(factor="0.5"), "factor"),
    (lambda: data.linear_regression(seed=-1), r"seed must be an integer in \[0, 2\*\*32\)"),
    (lambda: data.digits(seed=2**40), "seed"),
])
def test_bad_argument_raises_value_error_naming_it(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


def test_standardise_checks_the_width_instead_of_broadcasting():
    ds = data.iris(seed=0)
    X_raw = np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(ds.standardise(X_raw), (X_raw - ds.mean) / ds.scale)
    for bad in (np.zeros((3, 1)), np.zeros((3, 2)), np.zeros(4)):     # (N, 1) used to broadcast to (N, 4)
        with pytest.raises(ValueError, match=r"X_raw must have shape \(N, 4\), one column per feature of 'iris'"):
            ds.standardise(bad)


def test_importing_handnet_imports_neither_sklearn_nor_torch():
    code = ("import sys, handnet, handnet.data, handnet.optim, handnet.losses, handnet.layers; "
            "print('sklearn' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
