"""fit, predict and evaluate: real training runs reach the promised accuracies, and the loop does
what its docstring says (shuffling, batching, modes, history, divergence, progress bar, errors)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import handnet as hn
from handnet import data, losses
from handnet.layers import BatchNorm1d, Linear, ReLU, SoftmaxCrossEntropy
from handnet.module import Module
from handnet.optim import SGD, Adam
from handnet.train import _batch_bounds, _output_shape
from tests.test_checkpointing import Centre


def mlp(sizes: list[int], *, batchnorm: bool = False, seed: int = 0) -> hn.Sequential:
    rng = np.random.default_rng(seed)
    layers = []
    for i, (d, m) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(d, m, rng=rng))
        if i < len(sizes) - 2:
            layers += [BatchNorm1d(m), ReLU()] if batchnorm else [ReLU()]
    return hn.Sequential(*layers)


class Recorder(Module):
    """The identity, remembering each input it saw in train mode and the mode of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.seen, self.modes = [], []

    def forward(self, x):
        self.modes.append(self.training)
        if self.training:
            self.seen.append(np.array(x))
        return x

    def backward(self, dout):
        return dout


# ---- the library learns ----------------------------------------------------------------------
def test_mlp_with_batchnorm_reaches_95_percent_test_accuracy_on_digits_in_10_epochs():
    ds = data.digits(seed=0)
    model = mlp([64, 64, 10], batchnorm=True)
    ce = SoftmaxCrossEntropy()
    history = hn.fit(model, ce, Adam(model.parameters(), lr=3e-3), ds.X_train, ds.y_train, epochs=10,
                     batch_size=64, rng=0, validation=(ds.X_test, ds.y_test), progress=False)
    test = hn.evaluate(model, ce, ds.X_test, ds.y_test)
    assert test["accuracy"] >= 0.95, history
    assert history.epochs == 10 and len(history.accuracy) == len(history.val_accuracy) == 10
    assert history.loss[-1] < history.loss[0] / 5
    assert history.val_loss[-1] == pytest.approx(test["loss"], rel=1e-12)  # last validation = the final model


def test_2_16_16_2_relu_net_reaches_97_percent_on_moons_where_a_linear_model_cannot():
    ds = data.moons(seed=0)
    ce = SoftmaxCrossEntropy()
    accuracies = {}
    for name, sizes in {"mlp": [2, 16, 16, 2], "linear": [2, 2]}.items():
        model = mlp(sizes)
        hn.fit(model, ce, SGD(model.parameters(), lr=0.1, momentum=0.9), ds.X_train, ds.y_train, epochs=30,
               batch_size=32, rng=0, progress=False)
        accuracies[name] = hn.evaluate(model, ce, ds.X_test, ds.y_test)["accuracy"]
    assert accuracies["mlp"] >= 0.97, accuracies
    assert accuracies["linear"] < 0.90, accuracies  # the moons are not linearly separable: the hidden layers do it


def test_bce_with_logits_on_0_1_targets_reports_accuracy_of_the_sign_of_the_logit():
    ds = data.breast_cancer(seed=0)
    model, bce = mlp([30, 8, 1]), losses.BCEWithLogitsLoss()
    y_train, y_test = ds.y_train[:, None].astype(float), ds.y_test[:, None].astype(float)
    history = hn.fit(model, bce, Adam(model.parameters(), lr=1e-2), ds.X_train, y_train, epochs=10, batch_size=32,
                     rng=0, progress=False)
    test = hn.evaluate(model, bce, ds.X_test, y_test)
    assert len(history.accuracy) == 10 and test["accuracy"] >= 0.93
    assert test["accuracy"] == np.mean((hn.predict(model, ds.X_test) > 0) == (y_test == 1))


# ---- the loop -------------------------------------------------------------------------------
def test_same_seed_gives_identical_training_whether_int_or_generator():
    ds = data.iris(seed=0)
    results = []
    for rng in (7, np.random.default_rng(7)):
        model = mlp([4, 8, 3], batchnorm=True)
        h = hn.fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), ds.X_train, ds.y_train,
                   epochs=3, batch_size=16, rng=rng, progress=False)
        results.append((h, model.state_dict()))
    (h1, s1), (h2, s2) = results
    assert h1 == h2
    for key in s1:
        np.testing.assert_array_equal(s1[key], s2[key])


def test_each_epoch_visits_every_sample_once_in_a_new_order():
    X = np.arange(50, dtype=float)[:, None]
    y = np.arange(50) % 2
    recorder = Recorder()
    model = hn.Sequential(recorder, Linear(1, 2, rng=np.random.default_rng(0)))
    hn.fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.0), X, y, epochs=2, batch_size=16,
           rng=0, progress=False)
    assert [len(b) for b in recorder.seen] == [16, 16, 16, 2] * 2  # the last, smaller batch is kept
    epochs = [np.concatenate(recorder.seen[:4]).ravel(), np.concatenate(recorder.seen[4:]).ravel()]
    for order in epochs:
        np.testing.assert_array_equal(np.sort(order), X.ravel())
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[0], X.ravel())


@pytest.mark.parametrize("n, batch_size, expected", [
    (64, 32, [(0, 32), (32, 64)]),
    (65, 32, [(0, 32), (32, 65)]),            # a last batch of one joins the one before
    (66, 32, [(0, 32), (32, 64), (64, 66)]),  # a last batch of two is kept
    (1, 32, [(0, 1)]),
    (5, 1, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]),  # batch_size=1 asked for: kept
])
def test_batches_cover_the_data_and_a_final_batch_of_one_is_merged(n, batch_size, expected):
    assert _batch_bounds(n, batch_size) == expected


def test_batchnorm_model_trains_when_n_leaves_a_final_batch_of_one():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((65, 3)), rng.integers(0, 2, 65)
    model = mlp([3, 4, 2], batchnorm=True)
    hn.fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), X, y, epochs=2, batch_size=32,
           progress=False)


def test_epoch_loss_is_the_loss_over_all_samples_when_nothing_moves():
    # lr = 0 and no BatchNorm: each batch loss is the loss of a fixed model, and the epoch figure is
    # their batch-size-weighted mean, i.e. the loss of the whole training set (here 50 = 16+16+18).
    ds = data.iris(seed=0)
    X, y = ds.X_train[:50], ds.y_train[:50]
    model, ce = mlp([4, 5, 3]), SoftmaxCrossEntropy()
    history = hn.fit(model, ce, SGD(model.parameters(), lr=0.0), X, y, epochs=2, batch_size=16, rng=0,
                     validation=(X, y), progress=False)
    whole = hn.evaluate(model, ce, X, y)
    assert history.loss == pytest.approx([whole["loss"]] * 2, rel=1e-12)
    assert history.accuracy == pytest.approx([whole["accuracy"]] * 2, rel=1e-12)
    assert history.val_loss == pytest.approx(history.loss, rel=1e-12)


def test_accuracy_is_reported_only_for_integer_labels():
    rng = np.random.default_rng(0)
    X, labels = rng.standard_normal((20, 3)), rng.integers(0, 2, 20)
    probabilities = np.eye(2)[labels]  # the same targets as (N, C) probabilities: not classification by the rule
    model, ce = mlp([3, 2]), SoftmaxCrossEntropy()
    history = hn.fit(model, ce, SGD(model.parameters(), lr=0.1), X, probabilities, epochs=2, batch_size=8,
                     progress=False)
    assert len(history.loss) == 2 and history.accuracy == []
    assert set(hn.evaluate(model, ce, X, probabilities)) == {"loss"}


def test_accuracy_is_the_fraction_of_rows_predicted_right_and_nan_for_no_rows():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0], [1.0, 0.0, 0.0]])
    accuracy = SoftmaxCrossEntropy().accuracy(logits, np.array([0, 1, 0, 2]))
    assert accuracy == 0.5 and type(accuracy) is float                              # rows 0 and 1 are right
    assert losses.BCEWithLogitsLoss().accuracy(np.array([1.0, -2.0, 3.0]), np.array([1.0, 1.0, 1.0])) == 2 / 3
    assert np.isnan(SoftmaxCrossEntropy().accuracy(np.zeros((0, 3)), np.zeros(0, dtype=int)))   # and no warning
    assert SoftmaxCrossEntropy().accuracy(logits, np.ones(4, dtype=bool)) is None     # booleans are no class labels


def test_fit_trains_in_train_mode_validates_in_eval_mode_and_restores_every_mode():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), rng.integers(0, 2, 20)
    recorder = Recorder()
    model = hn.Sequential(recorder, Linear(3, 4, rng=rng), BatchNorm1d(4), Linear(4, 2, rng=rng))
    model.train()
    model[2].eval()  # a mixed state: only the BatchNorm in eval mode
    hn.fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), X, y, epochs=2, batch_size=10,
           validation=(X, y), progress=False)
    assert recorder.modes == [True, True, False, False] * 2  # per epoch: 2 training steps, 2 validation batches
    assert [m.training for m in model.modules()] == [True, True, True, False, True]


def test_predict_runs_in_eval_mode_in_batches_and_restores_train_mode():
    ds = data.iris(seed=0)
    recorder = Recorder()
    model = hn.Sequential(recorder, mlp([4, 8, 3], batchnorm=True))
    hn.fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), ds.X_train, ds.y_train, epochs=2,
           batch_size=16, progress=False)
    recorder.modes.clear()
    out = hn.predict(model, ds.X_test, batch_size=7)
    assert recorder.modes == [False] * int(np.ceil(len(ds.X_test) / 7))
    assert model.training and all(m.training for m in model.modules())
    model.eval()
    np.testing.assert_allclose(out, model(ds.X_test), rtol=1e-14, atol=1e-14)  # batching does not change eval outputs


def test_evaluate_is_the_loss_and_argmax_accuracy_of_the_predictions():
    ds = data.iris(seed=0)
    model, ce = mlp([4, 3]), SoftmaxCrossEntropy()
    figures = hn.evaluate(model, ce, ds.X_test, ds.y_test, batch_size=5)
    logits = hn.predict(model, ds.X_test)
    assert figures["loss"] == SoftmaxCrossEntropy()(logits, ds.y_test)
    assert figures["accuracy"] == np.mean(logits.argmax(axis=1) == ds.y_test)


# ---- divergence ------------------------------------------------------------------------------
def test_huge_learning_rate_stops_with_training_diverged_not_the_losss_value_error():
    # After one step with lr = 1e200 the weights are about 1e199: finite, but their product overflows,
    # so the logits of step 2 are inf. SoftmaxCrossEntropy would refuse them with a ValueError; fit
    # checks the output first and says what happened.
    ds = data.moons(seed=0)
    model = mlp([2, 16, 16, 2])
    with pytest.raises(hn.TrainingDiverged) as info:
        hn.fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=1e200), ds.X_train, ds.y_train, epochs=5,
               batch_size=32, rng=0, progress=False)
    message = str(info.value)
    assert "diverged at epoch 1 of 5, step 2 of 24" in message and "output" in message
    assert "smaller learning rate" in message and "lr=1e+200" in message
    assert isinstance(info.value, FloatingPointError) and not isinstance(info.value, ValueError)
    assert (info.value.epoch, info.value.step, info.value.history.epochs) == (1, 2, 0)
    assert model.training  # the mode is restored on the way out


def test_gradient_descent_beyond_two_over_the_largest_curvature_diverges_on_linear_regression():
    # MSE of a linear model has Hessian (2/n) XᵀX with largest eigenvalue 2κ = 200; SGD on the whole
    # batch is stable only for lr < 2/200 = 0.01. With lr = 0.05 the error grows ×9 per step.
    ds = data.linear_regression(100, 5, condition_number=100.0, seed=0)
    model = hn.Sequential(Linear(5, 1, bias=False, rng=np.random.default_rng(0)))
    stable = hn.fit(model, losses.MSELoss(), SGD(model.parameters(), lr=0.009), ds.X_train, ds.y_train[:, None],
                    epochs=50, batch_size=100, progress=False)
    assert stable.loss[-1] < stable.loss[0]
    model = hn.Sequential(Linear(5, 1, bias=False, rng=np.random.default_rng(0)))
    with pytest.raises(hn.TrainingDiverged, match=r"diverged at epoch \d+ of 1000, step 1 of 1") as info:
        hn.fit(model, losses.MSELoss(), SGD(model.parameters(), lr=0.05), ds.X_train, ds.y_train[:, None],
               epochs=1000, batch_size=100, progress=False)
    assert info.value.history.loss == sorted(info.value.history.loss)  # it grew every epoch before failing


class NaNAt(SoftmaxCrossEntropy):
    """Cross-entropy that goes wrong at its ``call``-th call: the loss is NaN, or (grad=True) its gradient."""

    def __init__(self, call: int, grad: bool = False) -> None:
        super().__init__()
        self.call, self.grad, self.calls = call, grad, 0

    def forward(self, logits, target):
        self.calls += 1
        value = super().forward(logits, target)
        return float("nan") if self.calls == self.call and not self.grad else value

    def backward(self):
        dlogits = super().backward()
        return dlogits * np.inf if self.calls == self.call and self.grad else dlogits


@pytest.mark.parametrize("loss, what", [
    (NaNAt(7), "the loss is nan"),
    (NaNAt(7, grad=True), "the gradient of '0.weight' holds NaN or inf"),
])
def test_non_finite_loss_or_gradient_is_reported_with_its_epoch_and_step(loss, what):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)), rng.integers(0, 2, 30)   # 3 steps per epoch: call 7 = epoch 3, step 1
    model = hn.Sequential(Linear(3, 4, rng=rng), Linear(4, 2, rng=rng))
    before = model.state_dict()
    with pytest.raises(hn.TrainingDiverged, match=f"epoch 3 of 4, step 1 of 3: {what}") as info:
        hn.fit(model, loss, SGD(model.parameters(), lr=0.1), X, y, epochs=4, batch_size=10, progress=False)
    assert info.value.history.epochs == 2
    assert not np.array_equal(before["0.weight"], model.state_dict()["0.weight"])  # it did train until then


# ---- everything is checked before the first step -------------------------------------------
def _probability_targets(n: int, bad_row: int) -> np.ndarray:
    T = np.full((n, 2), 0.5)
    T[bad_row] = [0.5, 0.4]
    return T


@pytest.mark.parametrize("loss, out, y, y_val, message", [
    (SoftmaxCrossEntropy(), 2, np.r_[np.zeros(29, int), 2], None, r"fit: y does not suit .* got 2 at row 29"),
    (SoftmaxCrossEntropy(), 2, np.zeros(30, int), np.r_[0, 1, 0, 1, 7], r"fit: validation y .* got 7 at row 4"),
    (SoftmaxCrossEntropy(), 2, _probability_targets(30, 12), None, "row 12 sums to 0.9"),
    (losses.BCEWithLogitsLoss(), 1, np.r_[np.zeros(17), 1.5, np.ones(12)][:, None], None, "got 1.5 at row 17"),
    (losses.MSELoss(), 1, np.zeros(30), None, r"target must have the shape of pred \(30, 1\), got \(30,\)"),
    (losses.MSELoss(), 1, np.zeros((30, 1)), np.zeros(5), r"validation y .* shape of pred \(5, 1\)"),
])
def test_a_bad_target_anywhere_stops_fit_before_the_first_step_naming_its_row(loss, out, y, y_val, message):
    # With the bad row in the last batch, or in the validation set, the old loop trained on every
    # batch before it (moving the weights and BatchNorm's statistics) and returned no History.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    recorder = Recorder()
    model = hn.Sequential(recorder, Linear(3, 4, rng=rng), BatchNorm1d(4), ReLU(), Linear(4, out, rng=rng))
    before = model.state_dict()
    validation = None if y_val is None else (rng.standard_normal((len(y_val), 3)), y_val)
    with pytest.raises(ValueError, match=message):
        hn.fit(model, loss, SGD(model.parameters(), lr=0.1), X, y, epochs=2, batch_size=10, rng=0,
               validation=validation, progress=False)
    assert recorder.modes == []                     # the model never ran: its output shape came from a copy
    for key, value in before.items():
        np.testing.assert_array_equal(model.state_dict()[key], value, err_msg=key)
    assert model[2].x_hat is None and model.training


def _arrays(model: Module) -> dict[tuple[int, str], np.ndarray]:
    return {(i, name): a for i, m in enumerate(model.modules()) for name, a in vars(m).items()
            if isinstance(a, np.ndarray)}


def test_the_output_shape_probe_shares_the_caches_of_the_last_forward_instead_of_copying_them():
    # After a forward on 20000 rows the caches hold 16 MB (Linear's x, BatchNorm's x_hat, ReLU's y,
    # which the last Linear holds as its x); the parameters 11 kB. A deep copy of it all allocates the 16 MB.
    model = hn.Sequential(Linear(40, 30, rng=0), BatchNorm1d(30), ReLU(), Linear(30, 3, rng=1))
    X = np.random.default_rng(0).standard_normal((20000, 40))
    model(X)
    held = _arrays(model)
    values = {key: a.copy() for key, a in held.items()}
    tracemalloc.start()
    try:
        assert _output_shape(model, X, "X") == (20000, 3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < hn.saved_arrays(model).total_bytes / 20, peak
    # and the model keeps its own caches, the same arrays with the same numbers, and its mode
    assert _arrays(model).keys() == held.keys() and all(_arrays(model)[k] is a for k, a in held.items())
    assert all(np.array_equal(held[k], v) for k, v in values.items()) and model.training


def test_the_output_shape_probe_copies_the_parameters_but_not_their_gradients():
    model = hn.Sequential(Linear(1000, 1000, rng=0))        # 8 MB of weights, and 8 MB of their gradient
    X = np.ones((2, 1000))
    model(X)
    model.backward(np.ones((2, 1000)))
    tracemalloc.start()
    try:
        _output_shape(model, X, "X")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * model[0].weight.data.nbytes, peak


def test_fit_runs_a_module_that_keeps_a_constant_in_a_plain_array_attribute():
    # The shape probe shares such an array with the model as it shares the caches: it is not left out.
    model = hn.Sequential(Centre([1.0, 2.0, 3.0]), Linear(3, 2, rng=0))
    X, y = np.random.default_rng(0).standard_normal((10, 3)), np.zeros(10, dtype=int)
    history = hn.fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), X, y, epochs=1, batch_size=5,
                     progress=False)
    assert history.epochs == 1 and np.array_equal(model[0].mu, [1.0, 2.0, 3.0])


def test_a_model_that_cannot_take_x_is_refused_before_any_batchnorm_statistic_moves():
    model = hn.Sequential(Linear(3, 4, rng=0), BatchNorm1d(4), Linear(5, 2, rng=1))   # 4 outputs into 5 inputs
    with pytest.raises(ValueError, match=r"fit: the model cannot run on a row of X: Sequential\[2\]"):
        _fit(model=model, optimizer=SGD(model.parameters(), lr=0.1))
    assert int(model[1].num_batches_tracked) == 0
    model = mlp([3, 2])
    with pytest.raises(ValueError, match="fit: the model cannot run on a row of validation X"):
        _fit(model=model, optimizer=SGD(model.parameters(), lr=0.1), validation=(np.zeros((4, 2)), np.zeros(4, int)))


# ---- progress bar ----------------------------------------------------------------------------
def test_progress_bar_shows_epochs_loss_and_accuracy_and_progress_false_is_silent(capsys):
    ds = data.iris(seed=0)
    for progress in (True, False):
        model = mlp([4, 3])
        hn.fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), ds.X_train, ds.y_train, epochs=3,
               batch_size=32, validation=(ds.X_test, ds.y_test), progress=progress)
        captured = capsys.readouterr()
        if progress:
            for text in ("epoch", "3/3", "loss=", "acc=", "val_loss=", "val_acc="):
                assert text in captured.err, captured.err
        else:
            assert captured.err == "" and captured.out == ""


# ---- bad arguments ---------------------------------------------------------------------------
def _fit(**overrides):
    rng = np.random.default_rng(0)
    model = mlp([3, 2])
    kwargs = dict(model=model, loss=SoftmaxCrossEntropy(), optimizer=SGD(model.parameters(), lr=0.1),
                  X=rng.standard_normal((10, 3)), y=rng.integers(0, 2, 10), epochs=1, batch_size=4, progress=False)
    kwargs.update(overrides)
    return hn.fit(**kwargs)


@pytest.mark.parametrize("overrides, error, message", [
    (dict(epochs=0), ValueError, "epochs"),
    (dict(epochs=2.0), ValueError, "epochs"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(y=np.zeros(9, dtype=int)), ValueError, "y must have one entry per row"),
    (dict(X=np.full((10, 3), np.nan)), ValueError, "X must be finite"),
    (dict(X=np.zeros((0, 3)), y=np.zeros(0, dtype=int)), ValueError, r"shape \(N, D\)"),
    (dict(X=np.zeros(10)), ValueError, r"shape \(N, D\)"),
    (dict(validation=np.zeros((3, 3))), ValueError, "validation must be a pair"),
    (dict(validation=(np.zeros((3, 3)), np.zeros(2, dtype=int))), ValueError, "validation y"),
    (dict(optimizer=SGD(mlp([3, 2]).parameters(), lr=0.1)), ValueError, "none of the model's parameters"),
    (dict(optimizer="sgd"), TypeError, "optimizer"),
    (dict(loss=lambda out, y: 0.0), TypeError, "loss"),
    (dict(model=lambda x: x), TypeError, "model"),
])
def test_bad_fit_argument_is_refused_naming_it(overrides, error, message):
    with pytest.raises(error, match=message):
        _fit(**overrides)


def test_fit_refuses_a_model_whose_parameters_are_already_not_finite():
    model = mlp([3, 2])
    model[0].weight.data[0, 0] = np.nan
    with pytest.raises(ValueError, match="'0.weight' \\(before training\\) must be finite"):
        _fit(model=model, optimizer=SGD(model.parameters(), lr=0.1))


@pytest.mark.parametrize("call, message", [
    (lambda m: hn.predict(m, np.zeros((4, 3)), batch_size=0), "batch_size"),
    (lambda m: hn.predict(m, np.array([["a", "b", "c"]])), "real numbers"),
    (lambda m: hn.evaluate(m, SoftmaxCrossEntropy(), np.zeros((4, 3)), np.zeros(3, dtype=int)), "one entry per row"),
])
def test_bad_predict_or_evaluate_argument_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call(mlp([3, 2]))


def test_callback_sees_every_step_with_that_steps_loss_and_gradient():
    # After step k the callback must see the loss of batch k and .grad = ∂L_k/∂θ, the gradient the
    # optimizer just used: with plain SGD, θ_before − θ_after = lr · grad exactly.
    ds = data.moons(60, seed=0)
    model = hn.Sequential(Linear(2, 4, rng=0), ReLU(), Linear(4, 2, rng=1))
    lr = 0.1
    seen, before = [], [model[0].weight.data.copy()]

    def callback(epoch, step, loss):
        w = model[0].weight
        seen.append((epoch, step, loss))
        np.testing.assert_allclose(before[-1] - w.data, lr * w.grad, rtol=1e-12, atol=1e-15)
        before.append(w.data.copy())

    history = hn.fit(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=lr), ds.X_train, ds.y_train,
                     epochs=2, batch_size=20, rng=0, progress=False, callback=callback)
    n_steps = len(_batch_bounds(len(ds.X_train), 20))
    assert [(e, s) for e, s, _ in seen] == [(e, s) for e in (1, 2) for s in range(1, n_steps + 1)]
    sizes = [stop - start for start, stop in _batch_bounds(len(ds.X_train), 20)]
    first_epoch = sum(loss * size for (_, _, loss), size in zip(seen[:n_steps], sizes)) / len(ds.X_train)
    assert first_epoch == pytest.approx(history.loss[0], rel=1e-12)
