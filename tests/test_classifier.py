"""SoftmaxRegression against central differences, scikit-learn's LogisticRegression and its
estimator checks, and bad input."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

from conftest import REPO, in_fresh_process
from softmax_pkg import (
    ConvergenceWarning,
    SoftmaxRegression,
    cross_entropy,
    log_softmax,
    numerical_gradient,
    one_hot,
    softmax,
)

try:  # scikit-learn is a reference here, not a dependency: only the tests that use it need it
    from sklearn.base import clone
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
except ImportError:
    pass
needs_sklearn = pytest.mark.usefixtures("sklearn_installed")


def blobs(n=60, d=3, classes=3, seed=0):
    """Overlapping Gaussian clouds, one per class: a small problem with a unique optimum."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = rng.normal(size=(n, d)) + 1.5 * rng.normal(size=(classes, d))[y]
    return X, y


@pytest.fixture(scope="module")
def digits():
    """load_digits, a stratified 75/25 split, features standardised on the training part, and
    scikit-learn's solution at C = 1 / (n l2), solved past its default tolerance."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    l2 = 1e-3
    sk = LogisticRegression(C=1.0 / (len(X_train) * l2), tol=1e-6, max_iter=1000)
    sk.fit(X_train, y_train)
    return X_train, X_test, y_train, y_test, l2, sk


# -- the objective and its gradient ---------------------------------------------------------------


@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_gradient_at_the_start_of_training_equals_numerical_gradient(l2):
    X, y = blobs()
    model = SoftmaxRegression(l2=l2)  # not fitted: the objective is evaluated where fit starts
    W0, b0 = np.zeros((3, 3)), np.zeros(3)
    grad_W, grad_b = model.objective_gradient(X, y)
    numeric_W = numerical_gradient(lambda w: model.objective(X, y, coef=w, intercept=b0), W0)
    numeric_b = numerical_gradient(lambda c: model.objective(X, y, coef=W0, intercept=c), b0)
    np.testing.assert_allclose(grad_W, numeric_W, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(grad_b, numeric_b, rtol=1e-7, atol=1e-10)
    assert np.isclose(model.objective(X, y), np.log(3))  # uniform probabilities at W = 0


def test_gradient_equals_numerical_gradient_at_random_points_and_after_fit():
    X, y = blobs(seed=1)
    rng = np.random.default_rng(2)
    model = SoftmaxRegression(l2=0.05)
    for W, b in [(rng.normal(size=(3, 3)), rng.normal(size=3)), (None, None)]:
        if W is None:
            model.fit(X, y)
            W, b = model.coef_, model.intercept_
        grad_W, grad_b = model.objective_gradient(X, y, coef=W, intercept=b)
        numeric_W = numerical_gradient(lambda w: model.objective(X, y, coef=w, intercept=b), W)
        numeric_b = numerical_gradient(lambda c: model.objective(X, y, coef=W, intercept=c), b)
        np.testing.assert_allclose(grad_W, numeric_W, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(grad_b, numeric_b, rtol=1e-6, atol=1e-9)
    assert np.sqrt(np.sum(grad_W**2) + np.sum(grad_b**2)) <= model.tol  # fit stopped at tol


def test_objective_and_gradient_are_the_documented_formulas():
    X, y = blobs(seed=3)
    rng = np.random.default_rng(4)
    W, b, l2 = rng.normal(size=(3, 3)), rng.normal(size=3), 0.2
    model = SoftmaxRegression(l2=l2)
    Z = X @ W.T + b
    S, Y = softmax(Z, axis=1), one_hot(y, 3)
    expected = float(np.mean(-np.sum(Y * log_softmax(Z, axis=1), axis=1))) + l2 / 2 * np.sum(W**2)
    assert np.isclose(model.objective(X, y, coef=W, intercept=b), expected, rtol=1e-13)
    assert np.isclose(expected, float(cross_entropy(Z, y)) + l2 / 2 * np.sum(W**2), rtol=1e-13)
    grad_W, grad_b = model.objective_gradient(X, y, coef=W, intercept=b)
    np.testing.assert_allclose(grad_W, (S - Y).T @ X / len(X) + l2 * W, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad_b, (S - Y).sum(axis=0) / len(X), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("n, d, classes", [(1, 1, 2), (300, 64, 10), (1000, 3, 4), (70, 900, 3)])
def test_logits_and_gradient_in_row_blocks_equal_plain_matrix_products(n, d, classes):
    rng = np.random.default_rng(n + d)
    X, W, b = rng.normal(size=(n, d)), rng.normal(size=(classes, d)), rng.normal(size=classes)
    y = np.arange(n) % classes
    model = SoftmaxRegression(l2=0.0).fit(np.eye(classes), np.arange(classes))
    model.coef_, model.intercept_, model.n_features_in_ = W, b, d
    np.testing.assert_allclose(model.logits(X), X @ W.T + b, rtol=1e-12, atol=1e-12)
    G = (softmax(X @ W.T + b, axis=1) - one_hot(y, classes)) / n
    grad_W, grad_b = model.objective_gradient(X, y, coef=W, intercept=b)
    np.testing.assert_allclose(grad_W, G.T @ X, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(grad_b, G.sum(axis=0), rtol=1e-10, atol=1e-13)


def correlated_features(n, d, seed):
    """Features with one dominant direction: the largest Hessian eigenvalue stands far above the
    rest, the case where a power-iteration estimate of the step size matters most."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + 3.0 * rng.normal(size=(n, 1))
    return X, np.arange(n) % 3


@pytest.mark.parametrize("n, d", [(40, 2), (40, 4000), (500, 30), (20, 200)])
def test_gd_loss_curve_never_rises_with_the_estimated_step(n, d):
    X, y = correlated_features(n, d, seed=n + d)
    model = SoftmaxRegression(l2=1e-3, tol=1e-8, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    curve = np.array(model.loss_curve_)
    # Never rises, except by the rounding the docstring allows (a few units in the last place of
    # the objective, once the decrease is below what the objective can resolve).
    assert np.all(np.diff(curve) <= 4 * np.spacing(curve[:-1])), np.max(np.diff(curve))
    # ... and it gets at least as far as plain gradient descent with the exact Böhning step,
    # computed here from the eigenvalues of the Gram matrix, in the same number of iterations.
    n_iter, classes = model.n_iter_, 3
    Xt = np.column_stack([X, np.ones(n)])
    step = 1 / (np.linalg.svd(Xt, compute_uv=False)[0] ** 2 / (2 * n) + 1e-3)
    theta = np.zeros((classes, d + 1))
    Y = one_hot(y, classes)
    for _ in range(n_iter):
        G = (softmax(Xt @ theta.T, axis=1) - Y).T @ Xt / n
        G[:, :-1] += 1e-3 * theta[:, :-1]
        theta -= step * G
    plain = model.objective(X, y, coef=theta[:, :-1], intercept=theta[:, -1])
    assert curve[-1] <= plain * (1 + 1e-12), (curve[-1], plain)


def test_fit_memory_grows_like_the_data_for_wide_data(tmp_path):
    """40 x 4000 built a 4001 x 4001 Gram matrix (128 MB, 256 MB peak) for the step size; now
    the step comes from products with X, and the peak stays within a few times the data."""
    X, y = correlated_features(40, 4000, seed=3)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    code = """
import json, sys, tracemalloc, warnings
import numpy as np
from softmax_pkg import ConvergenceWarning, SoftmaxRegression

data = np.load(sys.argv[1])
X, y = data["X"], data["y"]
tracemalloc.start()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    SoftmaxRegression(max_iter=20).fit(X, y)
print(tracemalloc.get_traced_memory()[1])
"""
    peak = in_fresh_process(code, tmp_path / "data.npz")  # alone: see conftest.in_fresh_process
    assert peak <= 4 * X.nbytes, (peak, X.nbytes)


def test_step_size_estimate_is_within_the_largest_hessian_eigenvalue():
    """The first step from zero uses the power-iteration estimate of L. A step of 1/L with
    L >= the largest Hessian eigenvalue lowers the objective by at least ||g||^2 / (2L)."""
    X, y = blobs(n=40, d=2, seed=5)
    model = SoftmaxRegression(l2=0.1)
    theta0 = np.zeros(9)

    def grad(t):
        gW, gb = model.objective_gradient(X, y, coef=t[:6].reshape(3, 2), intercept=t[6:])
        return np.concatenate([gW.ravel(), gb])

    hessian = np.column_stack(
        [numerical_gradient(lambda t, k=k: grad(t)[k], theta0) for k in range(9)]
    )
    largest = np.linalg.eigvalsh((hessian + hessian.T) / 2)[-1]
    # Böhning's bound with the exact lambda_max, independently of the package:
    Xt = np.column_stack([X, np.ones(len(X))])
    bohning = np.linalg.eigvalsh(Xt.T @ Xt)[-1] / (2 * len(X)) + 0.1
    assert largest <= bohning * (1 + 1e-6)
    fitted = SoftmaxRegression(l2=0.1, max_iter=1, tol=0).fit(X, y)
    g0 = grad(theta0)
    step = np.concatenate([fitted.coef_.ravel(), fitted.intercept_]) / -g0
    assert np.allclose(step, step[0])  # one scalar step along the gradient
    assert 1 / step[0] == pytest.approx(bohning, rel=1e-3)


def symmetric_three_classes(k=10, seed=11):
    """Class c is class 0 turned by c * 120 degrees: by symmetry the optimal intercepts are
    equal (zero, as fit keeps their sum at zero), so the optimum does not depend on the scale
    of the intercept's column."""
    base = np.random.default_rng(seed).normal(size=(k, 2)) + [2.0, 0.0]
    turns = [np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
             for a in 2 * np.pi / 3 * np.arange(3)]
    return np.vstack([base @ R.T for R in turns]), np.repeat(np.arange(3), k)


def test_badly_scaled_features_fit_or_say_to_rescale():
    X, y = symmetric_three_classes()
    reference = SoftmaxRegression(l2=0.05, tol=1e-9, max_iter=5000).fit(X, y)
    # Scaling X by s and l2 by s^2 is the same problem in W * s: it fits, and agrees.
    s = 1e140
    scaled = SoftmaxRegression(l2=0.05 * s * s, tol=0, max_iter=reference.n_iter_).fit(X * s, y)
    np.testing.assert_allclose(scaled.coef_ * s, reference.coef_, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(scaled.predict(X * s), reference.predict(X))
    # Tiny features fit too (pytest turns any leaked warning into an error), and huge ones
    # whose curvature is still a float64 number.
    for s in (1e-300, 1e-160, 1e150):
        for solver in ("gd", "sgd"):
            model = SoftmaxRegression(solver=solver, tol=0, max_iter=20).fit(X * s, y)
            # Tiny features barely move the objective: it may wobble by rounding, as documented.
            rounding = 8 * np.finfo(float).eps * model.loss_curve_[0]
            assert np.all(np.diff(model.loss_curve_) <= rounding) or solver == "sgd"
            assert model.loss_curve_[-1] <= np.log(3) + rounding and np.all(np.isfinite(model.coef_))
    for huge in (1e160, 1e300):
        for solver in ("gd", "sgd"):
            with pytest.raises(ValueError, match="X is too badly scaled.*Rescale the features"):
                SoftmaxRegression(solver=solver).fit(X * huge, y)


# -- the same optimum as scikit-learn -------------------------------------------------------------


@needs_sklearn
@pytest.mark.slow
def test_gd_matches_sklearn_logistic_regression_on_digits(digits):
    X_train, X_test, y_train, y_test, l2, sk = digits
    model = SoftmaxRegression(l2=l2).fit(X_train, y_train)
    ours = model.objective(X_train, y_train)
    theirs = model.objective(X_train, y_train, coef=sk.coef_, intercept=sk.intercept_)
    assert abs(ours - theirs) <= 1e-3 * theirs, (ours, theirs)
    assert ours == model.loss_curve_[-1]
    assert abs(model.score(X_test, y_test) - sk.score(X_test, y_test)) <= 0.005
    assert sk.score(X_test, y_test) >= 0.95


@needs_sklearn
@pytest.mark.slow
def test_sgd_after_50_epochs_is_within_5_percent_of_the_optimum_on_digits(digits):
    """A constant step leaves SGD hovering near the optimum: measured 1.5e-2 relative above it
    after 50 epochs (seed 0, batch 32), with the same test accuracy as scikit-learn."""
    X_train, X_test, y_train, y_test, l2, sk = digits
    model = SoftmaxRegression(l2=l2, solver="sgd", tol=0, max_iter=50, random_state=0)
    model.fit(X_train, y_train)
    ours = model.objective(X_train, y_train)
    theirs = model.objective(X_train, y_train, coef=sk.coef_, intercept=sk.intercept_)
    assert theirs <= ours <= 1.05 * theirs, (ours, theirs)
    assert abs(model.score(X_test, y_test) - sk.score(X_test, y_test)) <= 0.01


@needs_sklearn
def test_l2_maps_to_sklearn_C_equal_one_over_n_l2_for_three_or_more_classes():
    X, y = blobs(n=90, d=4, classes=4, seed=7)
    l2 = 0.02
    model = SoftmaxRegression(l2=l2, tol=1e-10, max_iter=20_000).fit(X, y)
    sk = LogisticRegression(C=1 / (len(X) * l2), tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(model.coef_, sk.coef_, atol=1e-6)
    np.testing.assert_allclose(
        model.intercept_, sk.intercept_ - sk.intercept_.mean(), atol=1e-6
    )
    np.testing.assert_allclose(model.predict_proba(X), sk.predict_proba(X), atol=1e-7)


@needs_sklearn
def test_l2_maps_to_sklearn_C_equal_two_over_n_l2_for_two_classes():
    X, y = blobs(n=50, d=3, classes=2, seed=8)
    l2 = 0.05
    model = SoftmaxRegression(l2=l2, tol=1e-10, max_iter=20_000).fit(X, y)
    sk = LogisticRegression(C=2 / (len(X) * l2), tol=1e-12, max_iter=10_000).fit(X, y)
    # scikit-learn's single weight vector is the difference of our two rows.
    np.testing.assert_allclose(model.coef_[1] - model.coef_[0], sk.coef_[0], atol=1e-6)
    np.testing.assert_allclose(model.coef_[0], -model.coef_[1], atol=1e-9)
    np.testing.assert_allclose(model.predict_proba(X), sk.predict_proba(X), atol=1e-7)


# -- training behaviour ---------------------------------------------------------------------------


def test_loss_curve_decreases_for_gd_and_ends_at_the_fitted_objective():
    X, y = blobs(n=120, seed=9)
    model = SoftmaxRegression(l2=1e-3).fit(X, y)
    curve = np.array(model.loss_curve_)
    assert len(curve) == model.n_iter_ > 1
    assert np.all(np.diff(curve) <= 0), "gd's objective went up"
    assert curve[0] < np.log(3)  # the first step already improves on the start
    assert curve[-1] == model.objective(X, y)


def test_intercepts_sum_to_zero_and_predictions_agree_with_probabilities():
    X, y = blobs(seed=10)
    for solver in ("gd", "sgd"):
        model = SoftmaxRegression(l2=0.01, solver=solver, tol=0, max_iter=30, random_state=0)
        model.fit(X, y)
        assert abs(model.intercept_.sum()) < 1e-12
        np.testing.assert_allclose(model.coef_.sum(axis=0), 0.0, atol=1e-12)
        proba = model.predict_proba(X)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-14)
        np.testing.assert_allclose(model.predict_log_proba(X), np.log(proba), rtol=1e-12)
        np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
        assert model.score(X, y) == np.mean(model.predict(X) == y)


def test_sgd_is_deterministic_for_a_given_random_state():
    X, y = blobs(seed=11)
    fit = lambda seed: SoftmaxRegression(solver="sgd", batch_size=8, max_iter=5, tol=0,
                                         random_state=seed).fit(X, y)  # noqa: E731
    first, again, other = fit(3), fit(3), fit(4)
    np.testing.assert_array_equal(first.coef_, again.coef_)
    assert first.loss_curve_ == again.loss_curve_
    assert not np.array_equal(first.coef_, other.coef_)


def test_gd_uses_no_randomness():
    X, y = blobs(seed=12)
    a = SoftmaxRegression(random_state=1).fit(X, y)
    b = SoftmaxRegression(random_state=2).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_string_labels_are_sorted_like_np_unique_and_predicted_back():
    X, y = blobs(seed=13)
    names = np.array(["zebra", "ant", "moth"])
    model = SoftmaxRegression(l2=0.01).fit(X, names[y].tolist())  # a plain list works too
    np.testing.assert_array_equal(model.classes_, ["ant", "moth", "zebra"])
    by_index = SoftmaxRegression(l2=0.01).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), names[by_index.predict(X)])
    assert model.score(X, names[y]) == by_index.score(X, y)


@pytest.mark.parametrize(
    "labels", [[10, -3, 7], [2.0, 5.0, 9.0], [True, False, True], ["b", "a", "c"]]
)
def test_any_sortable_hashable_labels_work(labels):
    X, y = blobs(seed=14)
    k = len(set(labels))
    targets = np.array(labels)[y % k]
    model = SoftmaxRegression(l2=0.01).fit(X, targets)
    np.testing.assert_array_equal(model.classes_, np.unique(targets))
    assert set(model.predict(X)) <= set(targets.tolist())


def test_callback_sees_every_epoch_and_can_stop_training():
    X, y = blobs(seed=15)
    seen = []

    def record(model, epoch):
        seen.append((epoch, model.n_iter_, len(model.loss_curve_), model.coef_.copy()))
        return epoch == 7

    model = SoftmaxRegression(callback=record, tol=0, max_iter=50).fit(X, y)
    assert model.n_iter_ == 7 and [s[0] for s in seen] == list(range(1, 8))
    assert all(epoch == n_iter == length for epoch, n_iter, length, _ in seen)
    np.testing.assert_array_equal(seen[-1][3], model.coef_)


def test_max_iter_without_convergence_warns_and_tol_zero_runs_exactly_max_iter():
    X, y = blobs(seed=16)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        SoftmaxRegression(l2=1e-4, max_iter=3).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = SoftmaxRegression(tol=0, max_iter=4).fit(X, y)
    assert model.n_iter_ == 4 == len(model.loss_curve_)


def test_refit_replaces_the_model():
    X, y = blobs(seed=17)
    model = SoftmaxRegression().fit(X[:, :2], y)
    model.fit(X, np.array(["a", "b", "c"])[y])
    assert model.coef_.shape == (3, 3) and model.n_features_in_ == 3
    assert model.classes_.tolist() == ["a", "b", "c"]


def test_inputs_are_never_modified():
    X, y = blobs(seed=18)
    X_before, y_before = X.copy(), y.copy()
    model = SoftmaxRegression(solver="sgd", max_iter=3, tol=0, random_state=0).fit(X, y)
    model.predict_proba(X), model.score(X, y), model.objective_gradient(X, y)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


# -- bad input ------------------------------------------------------------------------------------

X_OK, Y_OK = blobs(n=12, seed=19)


@pytest.mark.parametrize(
    "X, y, error, message",
    [
        (np.where(np.eye(12, 3) == 1, np.nan, X_OK), Y_OK, ValueError, "NaN or inf"),
        (np.where(np.eye(12, 3) == 1, np.inf, X_OK), Y_OK, ValueError, "NaN or inf"),
        (X_OK, Y_OK[:-1], ValueError, "different lengths"),
        (X_OK, np.zeros(12, int), ValueError, "only one class"),
        (X_OK[:, 0], Y_OK, ValueError, "2-d"),
        (X_OK[None], Y_OK, ValueError, "2-d"),
        (X_OK[:, :0], Y_OK, ValueError, "0 feature"),
        (X_OK, Y_OK[:, None], ValueError, "1-d"),
        (X_OK, None, ValueError, "y is None"),
        (X_OK, Y_OK + 0.5, ValueError, "Unknown label type"),
        (X_OK + 1j, Y_OK, TypeError, "X must be real"),
        (X_OK.astype(str), Y_OK, TypeError, "X must be an array of real numbers"),
    ],
    ids=["nan", "inf", "lengths", "one-class", "X-1d", "X-3d", "no-features", "y-2d", "y-none",
         "y-continuous", "X-complex", "X-strings"],
)
def test_fit_rejects_bad_data_with_a_clear_error(X, y, error, message):
    with pytest.raises(error, match=message):
        SoftmaxRegression().fit(X, y)


@pytest.mark.parametrize(
    "params, error, name",
    [
        ({"l2": -1.0}, ValueError, "l2"),
        ({"l2": "strong"}, TypeError, "l2"),
        ({"l2": np.inf}, ValueError, "l2"),
        ({"solver": "adam"}, ValueError, "solver"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate"),
        ({"learning_rate": "fast"}, ValueError, "learning_rate"),
        ({"momentum": 1.0}, ValueError, "momentum"),
        ({"momentum": -0.1}, ValueError, "momentum"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 2.5}, TypeError, "batch_size"),
        ({"tol": -1e-4}, ValueError, "tol"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"max_iter": True}, TypeError, "max_iter"),
        ({"random_state": "seed"}, TypeError, "random_state"),
        ({"callback": 3}, TypeError, "callback"),
    ],
)
def test_fit_rejects_bad_hyper_parameters_naming_them(params, error, name):
    model = SoftmaxRegression(**params)  # __init__ only stores: the check happens in fit
    with pytest.raises(error, match=name):
        model.fit(X_OK, Y_OK)


@needs_sklearn
@pytest.mark.parametrize(
    "method", ["predict", "predict_proba", "predict_log_proba", "logits", "score"]
)
def test_predicting_before_fit_raises_sklearns_not_fitted_error(method):
    from sklearn.exceptions import NotFittedError

    args = (X_OK, Y_OK) if method == "score" else (X_OK,)
    with pytest.raises(NotFittedError, match="not fitted"):
        getattr(SoftmaxRegression(), method)(*args)


def test_not_fitted_error_without_sklearn_is_a_value_and_attribute_error():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "import numpy as np\n"
        "from softmax_pkg import SoftmaxRegression\n"
        "try:\n"
        "    SoftmaxRegression().predict(np.eye(2))\n"
        "except Exception as exc:\n"
        "    assert type(exc).__name__ == 'NotFittedError', type(exc)\n"
        "    assert isinstance(exc, ValueError) and isinstance(exc, AttributeError)\n"
        "    assert 'not fitted' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('no error')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


@pytest.mark.parametrize(
    "method", ["predict", "predict_proba", "predict_log_proba", "logits", "score"]
)
def test_prediction_rejects_another_feature_count_and_non_finite_X(method):
    model = SoftmaxRegression().fit(X_OK, Y_OK)
    extra = (Y_OK,) if method == "score" else ()
    with pytest.raises(ValueError, match="X has 2 features, but SoftmaxRegression is expecting 3"):
        getattr(model, method)(X_OK[:, :2], *extra)
    with pytest.raises(ValueError, match="NaN or inf"):
        getattr(model, method)(np.where(np.eye(12, 3) == 1, np.nan, X_OK), *extra)


def test_objective_rejects_unknown_labels_and_wrong_shapes():
    model = SoftmaxRegression().fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="not fitted on: 7"):
        model.objective(X_OK, np.full(12, 7))
    with pytest.raises(ValueError, match="coef and intercept must have shapes"):
        model.objective(X_OK, Y_OK, coef=np.zeros((2, 3)))


# -- scikit-learn's estimator protocol ------------------------------------------------------------


def test_get_params_and_set_params_round_trip():
    model = SoftmaxRegression(l2=0.5, solver="sgd", random_state=3)
    params = model.get_params()
    assert params["l2"] == 0.5 and params["solver"] == "sgd" and params["max_iter"] == 1000
    assert set(params) == {"l2", "solver", "learning_rate", "momentum", "batch_size", "tol",
                           "max_iter", "random_state", "callback"}
    other = SoftmaxRegression().set_params(**params)
    assert other.get_params() == params
    assert model.set_params(tol=1e-6) is model and model.tol == 1e-6


def test_set_params_rejects_unknown_names_and_sets_nothing():
    model = SoftmaxRegression()
    with pytest.raises(ValueError, match="Invalid parameter 'alpha'.*Valid parameters are"):
        model.set_params(l2=0.5, alpha=1.0)
    assert model.l2 == 1e-3


def test_repr_shows_only_non_default_parameters():
    assert repr(SoftmaxRegression()) == "SoftmaxRegression()"
    assert repr(SoftmaxRegression(0.1, solver="sgd")) == "SoftmaxRegression(l2=0.1, solver='sgd')"


@needs_sklearn
def test_sklearn_clone_gives_an_unfitted_copy_with_the_same_parameters():
    model = SoftmaxRegression(l2=0.2, solver="sgd", random_state=5).fit(X_OK, Y_OK)
    copy = clone(model)
    assert type(copy) is SoftmaxRegression and copy.get_params() == model.get_params()
    assert not hasattr(copy, "coef_")
    np.testing.assert_array_equal(copy.fit(X_OK, Y_OK).coef_, model.coef_)


def test_pickle_round_trip_predicts_the_same():
    model = SoftmaxRegression(l2=0.05).fit(X_OK, np.array(["x", "y", "z"])[Y_OK])
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X_OK), model.predict_proba(X_OK))
    np.testing.assert_array_equal(restored.classes_, model.classes_)
    assert restored.get_params() == model.get_params()


def test_importing_the_package_and_fitting_does_not_import_sklearn():
    code = (
        "import sys, numpy as np; from softmax_pkg import SoftmaxRegression; "
        "m = SoftmaxRegression().fit(np.eye(4), [0, 1, 0, 1]); m.predict(np.eye(4)); "
        "m.score(np.eye(4), [0, 1, 0, 1]); assert 'sklearn' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


@needs_sklearn
def test_works_inside_sklearn_cross_validation_and_grid_search():
    from sklearn.model_selection import GridSearchCV, cross_val_score

    X, y = blobs(n=90, seed=20)
    scores = cross_val_score(SoftmaxRegression(), X, y, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.5)
    search = GridSearchCV(SoftmaxRegression(), {"l2": [1e-3, 1e-1]}, cv=3).fit(X, y)
    assert search.best_params_["l2"] in (1e-3, 1e-1)


# The checks of sklearn.utils.estimator_checks.check_estimator that fail by design:
DELIBERATE_DIFFERENCES = {
    # The package raises TypeError (wrong kind of thing) for complex and object-dtype X, where
    # scikit-learn wants ValueError (complex) or a silent conversion (objects holding numbers).
    "check_complex_data",
    "check_dtype_object",
    # A column vector y of shape (n, 1) is an error here; scikit-learn warns and flattens it.
    "check_supervised_y_2d",
}


@needs_sklearn
@pytest.mark.slow
def test_passes_sklearn_check_estimator_except_the_documented_differences():
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checks fit tiny problems for few iterations
        results = check_estimator(SoftmaxRegression(), on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    passed = {r["check_name"] for r in results if r["status"] == "passed"}
    assert failed == DELIBERATE_DIFFERENCES, failed ^ DELIBERATE_DIFFERENCES
    assert len(passed) >= 40, sorted(passed)


# -- every hyper-parameter moved off its default, against a computation written out here ---------


def plain_gradient(W, b, X, y, l2):
    """(S - Y)^T X / n + l2 W and (S - Y)^T 1 / n, from the book's formulas."""
    from softmax_pkg import formulas

    G = (formulas.shifted_softmax(X @ W.T + b) - one_hot(y, W.shape[0])) / len(X)
    return G.T @ X + l2 * W, G.sum(axis=0)


@pytest.mark.parametrize(
    "learning_rate, momentum, batch_size, random_state",
    [(0.05, 0.5, 7, 3), (0.2, 0.0, 1, 11), (0.01, 0.95, 100, 0)],
)
def test_sgd_is_heavy_ball_on_shuffled_mini_batches_written_out(
    learning_rate, momentum, batch_size, random_state
):
    X, y = blobs(n=30, d=3, seed=12)
    l2, epochs = 0.02, 3
    model = SoftmaxRegression(
        l2=l2, solver="sgd", learning_rate=learning_rate, momentum=momentum,
        batch_size=batch_size, random_state=random_state, max_iter=epochs, tol=0,
    ).fit(X, y)
    rng = np.random.default_rng(random_state)
    W, b = np.zeros((3, 3)), np.zeros(3)
    vW, vb = np.zeros_like(W), np.zeros_like(b)
    size = min(batch_size, len(X))
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), size):
            batch = order[start : start + size]
            gW, gb = plain_gradient(W, b, X[batch], y[batch], l2)
            vW, vb = momentum * vW + gW, momentum * vb + gb
            W, b = W - learning_rate * vW, b - learning_rate * vb
    np.testing.assert_allclose(model.coef_, W, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-10, atol=1e-13)
    assert model.n_iter_ == epochs


@pytest.mark.parametrize("learning_rate", [0.03, 0.3])
def test_gd_with_a_given_learning_rate_takes_that_step_first(learning_rate):
    X, y = blobs(n=25, d=2, seed=13)
    model = SoftmaxRegression(l2=0.1, learning_rate=learning_rate, max_iter=1, tol=0).fit(X, y)
    gW, gb = plain_gradient(np.zeros((3, 2)), np.zeros(3), X, y, 0.1)
    np.testing.assert_allclose(model.coef_, -learning_rate * gW, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(model.intercept_, -learning_rate * gb, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("tol", [1e-2, 1e-4])
def test_tol_stops_at_the_first_epoch_whose_gradient_norm_is_at_most_tol(tol):
    X, y = blobs(n=40, d=2, seed=14)
    norms = []

    def record(model, epoch):
        gW, gb = plain_gradient(model.coef_, model.intercept_, X, y, 0.01)
        norms.append(np.sqrt(np.sum(gW**2) + np.sum(gb**2)))

    model = SoftmaxRegression(l2=0.01, tol=tol, callback=record).fit(X, y)
    assert len(norms) == model.n_iter_
    assert norms[-1] <= tol < min(norms[:-1])


def test_masked_arrays_are_refused_by_name_never_unmasked_silently():
    X, y = blobs(n=12, d=3, seed=15)
    mask = np.zeros(X.shape, bool)
    mask[0, 0] = True
    with pytest.raises(TypeError, match="X is a masked array"):
        SoftmaxRegression().fit(np.ma.masked_array(X, mask=mask), y)
    with pytest.raises(TypeError, match="y is a masked array"):
        SoftmaxRegression().fit(X, np.ma.masked_array(y, mask=np.arange(12) == 3))
    model = SoftmaxRegression().fit(X, y)
    with pytest.raises(TypeError, match="X is a masked array"):
        model.predict_proba(np.ma.masked_array(X, mask=mask))
    # Nothing masked: the same as the plain arrays.
    np.testing.assert_array_equal(
        SoftmaxRegression().fit(np.ma.masked_array(X), np.ma.masked_array(y)).coef_, model.coef_
    )
