"""optlab.classification: the contract every classifier passes, closed forms, golden counts."""

import inspect
import math
import warnings

import array_api_strict as xps
import numpy as np
import pytest

from optlab.classification import (
    batch_perceptron,
    is_separable,
    lr_gd,
    normalized_batch_perceptron,
    normalized_lr_gd,
    perceptron,
)
from optlab.methods import CLASSIFIERS, load

NAMES = sorted(CLASSIFIERS)
GAMMA = {"lr_gd": 10.0, "normalized_lr_gd": 10.0}


def call(name, X, y, **kw):
    method = load(name)
    if name in GAMMA:
        return method(X, y, kw.pop("gamma", GAMMA[name]), **kw)
    return method(X, y, **kw)


def worst_case(n):
    X = np.array([[0.5, -1.0]] + [[-0.5, -1.0]] * (n - 1))
    y = np.array([1.0] + [-1.0] * (n - 1))
    return X, y


def planted(n=200, d=5, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(d)
    X = rng.standard_normal((n, d))
    m = X @ w
    X += 0.3 * np.sign(m)[:, None] * w / np.linalg.norm(w)  # a margin around the planted direction
    return X, np.sign(X @ w)


@pytest.mark.parametrize("name", NAMES)
def test_separates_separable_data(name):
    X, y = planted()
    res = call(name, X, y)
    assert res.status == "converged" and res.success
    assert res.nit >= 1 and np.all(y * (X @ res.x) > 0)
    assert res.trace.accuracy[-1] == 1.0 and res.trace.n_nonpos[-1] == 0
    assert res.trace.iteration[-1] == res.nit
    assert {"accuracy", "n_nonpos", "min_margin", "angle", "fun", "grad_norm"} <= set(res.trace)


@pytest.mark.parametrize("name", NAMES)
def test_stops_at_first_separating_iterate(name):
    X, y = planted(seed=1)
    res = call(name, X, y)
    assert (res.trace.min_margin[1:-1] <= 0).all()  # no earlier t >= 1 was separated


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_dtype(name, dtype):
    X, y = planted()
    res = call(name, X.astype(dtype), y.astype(dtype))
    assert res.x.dtype == dtype


@pytest.mark.parametrize("name", NAMES)
def test_array_api_strict_same_numbers(name):
    X, y = planted(n=60, d=3, seed=2)
    ref = call(name, X, y)
    res = call(name, xps.asarray(X), xps.asarray(y))
    assert type(res.x).__module__.startswith("array_api_strict")
    assert res.nit == ref.nit
    np.testing.assert_allclose(np.asarray(res.x), ref.x, rtol=1e-10)
    np.testing.assert_allclose(res.trace.fun, ref.trace.fun, rtol=1e-10)
    np.testing.assert_array_equal(res.trace.n_nonpos, ref.trace.n_nonpos)


@pytest.mark.parametrize("name", NAMES)
def test_bad_input(name):
    X, y = planted(n=20)
    with pytest.raises(ValueError, match="labels -1 and \\+1"):
        call(name, X, (y + 1) / 2)
    with pytest.raises(ValueError, match="X contains NaN"):
        call(name, np.where(np.eye(20, 5) == 1, np.nan, X), y)
    with pytest.raises(ValueError, match="all-zero row"):
        call(name, np.vstack([X[:-1], np.zeros(5)]), y)
    with pytest.raises(ValueError, match="y must have length 20"):
        call(name, X, y[:-1])
    with pytest.raises(ValueError, match="X must be 2-dimensional"):
        call(name, X[0], y[:1])
    with pytest.raises(ValueError, match="at least one row"):
        call(name, np.zeros((0, 5)), np.zeros(0))
    if name in GAMMA:
        for bad in (0.0, -1.0, math.nan):
            with pytest.raises(ValueError, match="gamma"):
                call(name, X, y, gamma=bad)


@pytest.mark.parametrize("name", NAMES)
def test_non_separable_ends_with_status(name):
    X = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    y = np.array([1.0, -1.0, 1.0])  # a duplicated point with opposite labels
    assert not is_separable(X, y)
    res = call(name, X, y, max_iter=50)
    assert res.status == "not_separable" and not res.success and res.nit == 50
    assert "not linearly separable" in res.message
    assert np.all(np.isfinite(res.trace.fun))


@pytest.mark.parametrize("name", NAMES)
def test_docstring_names_paper(name):
    doc = inspect.getdoc(load(name))
    assert "Tyurin" in doc and "Parameters" in doc and "Returns" in doc


def test_gamma_inf_is_the_exact_limit():
    X, y = planted(seed=3)
    for a, b in ((lr_gd(X, y, math.inf), batch_perceptron(X, y)),
                 (normalized_lr_gd(X, y, math.inf), normalized_batch_perceptron(X, y))):
        assert a.nit == b.nit
        np.testing.assert_array_equal(a.x, b.x)


def test_huge_gamma_never_overflows():
    X, y = worst_case(100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in (lr_gd, normalized_lr_gd):
            res = method(X, y, 1e8)
            res_s = method(xps.asarray(X), xps.asarray(y), 1e8)
            assert np.all(np.isfinite(res.trace.fun)) and np.all(np.isfinite(res.trace.grad_norm))
            assert res.nit == res_s.nit


def test_two_point_closed_forms():
    X = np.array([[1.0, -1.0], [-1.0, -4.0]])
    y = np.array([1.0, -1.0])
    gam = 100.0
    r = lr_gd(X, y, gam)
    f1 = 0.5 * (np.logaddexp(0, gam / 4) + np.logaddexp(0, -3.5 * gam))
    assert r.nit == 2 and r.trace.fun[1] == pytest.approx(f1, rel=1e-13) and r.trace.fun[2] < 1e-30
    big = lr_gd(X, y, 1e8)
    np.testing.assert_allclose(big.x / 1e8, [1.0, 0.25], atol=1e-12)
    assert big.trace.grad_norm[1] == pytest.approx(math.sqrt(0.5), rel=1e-12)


def test_perceptron_takes_smallest_violated_index():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.ones(3)
    seen = []
    perceptron(X, y, callback=lambda r: seen.append(np.array(r.x)))
    np.testing.assert_array_equal(seen[1], X[0])  # theta_1 = z_0: all margins tie at 0


@pytest.mark.parametrize("xp_in", [np.asarray, xps.asarray], ids=["numpy", "strict"])
def test_worst_case_golden_counts(xp_in):
    X, y = (xp_in(a) for a in worst_case(1000))
    assert [normalized_lr_gd(X, y, g).nit for g in (100.0, 10.0, 1.0, 0.1)] == [2, 2, 16, 157]
    assert lr_gd(X, y, 100.0).nit == 308
    assert batch_perceptron(X, y).nit == 301 and normalized_batch_perceptron(X, y).nit == 2


def test_angle_to_reference_direction():
    X, y = worst_case(10)
    res = normalized_batch_perceptron(X, y, w_star=np.array([1.0, 0.0]))
    assert math.isnan(res.trace.angle[0])  # theta_0 = 0 has no direction
    assert 0 <= res.trace.angle[-1] < math.pi / 2
