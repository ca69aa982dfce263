"""Separable classification data: exact margins and radii, the SVM reference, the worst-case BP count.

Exact constructions are checked against quantities recomputed from the data, the SVM
(``max_margin``) against the exact constructions, and the closed form of the Batch
Perceptron count on the worst-case set against a BP loop written here from the spec (§2),
both in floating point and in exact rational arithmetic.
"""

from __future__ import annotations

import dataclasses
import functools
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from optlab.problems import (
    SeparableData,
    cone_set,
    digits_pair,
    iris_pair,
    is_separable,
    max_margin,
    two_point_set,
    wine_pair,
    worst_case_bp_iterations,
    worst_case_set,
)
from optlab.problems._svm import _max_margin_direction
from optlab.problems.separable import _two_point_max_margin


@functools.cache
def _digits(a: int, b: int, imbalance: float | None = None, seed: int = 0) -> SeparableData:
    return digits_pair(a, b, imbalance=imbalance, seed=seed)


def _load_digits():
    from sklearn.datasets import load_digits

    return load_digits()


# -- the cone set ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "d", "mu", "R", "seed"), [(1000, 10, 0.05, 1.0, 0), (300, 5, 0.1, 2.0, 1),
                                                        (50, 2, 0.3, 0.7, 2)])
def test_cone_set_exact_mu_and_R(n: int, d: int, mu: float, R: float, seed: int) -> None:
    data = cone_set(n, d, mu=mu, R=R, seed=seed)
    assert data.mu_exact and data.X.shape == (n, d) and data.y.shape == (n,)
    assert data.X.flags.c_contiguous and data.X.dtype == np.float64
    Z, w = data.Z, data.w_star
    np.testing.assert_array_equal(Z, data.y[:, None] * data.X)
    assert set(np.unique(data.y)) == {-1.0, 1.0}
    assert np.linalg.norm(w) == pytest.approx(1.0, abs=1e-15)
    m = Z @ w
    # the construction in real arithmetic, reproduced by the float data to a few ulps
    assert data.mu == mu and data.R == R and data.R2 == R * R
    assert float(m.min()) == pytest.approx(mu, rel=1e-13)
    assert int(np.argmin(m)) == 0
    assert np.all(m[1:] >= mu) and np.all(m[1:] <= 2 * mu)
    norms = np.linalg.norm(data.X, axis=1)
    assert float(norms.max()) == pytest.approx(R, rel=1e-14)
    np.testing.assert_allclose(norms[1:], R, rtol=1e-14)
    assert norms[0] == pytest.approx(mu, rel=1e-14)
    assert data.ratio == pytest.approx(R**2 / mu**2, rel=1e-14)
    # the SVM recovers mu and the (unique) direction
    mu_svm, w_svm = max_margin(data.X, data.y)
    assert mu_svm == pytest.approx(mu, rel=1e-6)
    np.testing.assert_allclose(w_svm, w, atol=1e-6)
    # any other unit direction has a smaller margin (uniqueness), including nearby ones
    rng = np.random.default_rng(seed + 1000)  # not the data's seed: its first draw is w* itself
    for scale in (1.0, 1e-2, 1e-4):
        th = w + scale * rng.standard_normal((20, d))
        th /= np.linalg.norm(th, axis=1, keepdims=True)
        assert np.all((Z @ th.T).min(axis=0) < mu)


def test_cone_set_seeds_differ_and_repeat() -> None:
    a, b, c = cone_set(100, 4, seed=3), cone_set(100, 4, seed=3), cone_set(100, 4, seed=4)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.allclose(a.X, c.X)
    assert cone_set(1, 3, mu=0.2, R=1.0).R == 0.2  # a single (support) point


# -- the worst-case and two-point sets ----------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 10, 1000])
def test_worst_case_set(n: int) -> None:
    data = worst_case_set(n)
    assert data.mu_exact and data.mu == 0.5 and data.X.shape == (n, 2)
    np.testing.assert_array_equal(data.w_star, [1.0, 0.0])
    np.testing.assert_array_equal(data.X[0], [0.5, -1.0])
    np.testing.assert_array_equal(data.X[1:], np.tile([-0.5, -1.0], (n - 1, 1)))
    assert data.y[0] == 1.0 and np.all(data.y[1:] == -1.0)
    np.testing.assert_array_equal(data.Z @ data.w_star, np.full(n, 0.5))
    assert data.R2 == 1.25 and data.ratio == 5.0
    assert data.R == pytest.approx(np.sqrt(1.25), rel=1e-16)
    mu, w = max_margin(data.X, data.y)
    assert mu == pytest.approx(0.5, rel=1e-9)
    np.testing.assert_allclose(w, [1.0, 0.0], atol=1e-9)


def test_two_point_set_closed_form_equals_svm() -> None:
    data = two_point_set()
    np.testing.assert_array_equal(data.X, [[1.0, -1.0], [-1.0, -4.0]])
    np.testing.assert_array_equal(data.y, [1.0, -1.0])
    assert data.mu_exact and data.mu == 1.0 and data.R2 == 17.0 and data.ratio == 17.0
    np.testing.assert_array_equal(data.w_star, [1.0, 0.0])
    np.testing.assert_array_equal(data.Z @ data.w_star, [1.0, 1.0])  # both points are support points
    mu, w = max_margin(data.X, data.y)
    assert mu == pytest.approx(1.0, rel=1e-9)
    np.testing.assert_allclose(w, data.w_star, atol=1e-9)


def test_two_point_closed_form_on_random_pairs() -> None:
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(40):
        Z = rng.standard_normal((2, 3))
        if Z[0] @ Z[1] < -0.99 * np.linalg.norm(Z[0]) * np.linalg.norm(Z[1]):
            continue  # nearly opposite: too close to non-separable for a tolerance test
        mu, w = _two_point_max_margin(Z[0], Z[1])
        mu_svm, w_svm = max_margin(Z, np.ones(2))
        assert mu == pytest.approx(mu_svm, rel=1e-6)
        np.testing.assert_allclose(w, w_svm, atol=1e-6)
        checked += 1
    assert checked >= 30
    with pytest.raises(ValueError, match="not linearly separable"):
        _two_point_max_margin(np.array([1.0, 2.0]), np.array([-2.0, -4.0]))


# -- bundled data -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("a", "b", "n", "mu", "R"), [(3, 8, 357, 0.207, 4.60), (4, 9, 361, 0.373, 4.44),
                                                     (0, 1, 360, 0.585, 4.81)])
def test_digits_pairs_match_spec_table(a: int, b: int, n: int, mu: float, R: float) -> None:
    data = _digits(a, b)
    assert not data.mu_exact and data.X.shape == (n, 64)
    assert data.X.min() >= 0.0 and data.X.max() <= 1.0
    assert data.mu == pytest.approx(mu, rel=2e-2)
    assert data.R == pytest.approx(R, rel=1e-2)
    assert is_separable(data.X, data.y)
    # the SVM direction is certified: mu is its own minimum margin, within 1e-8 of the dual bound
    assert float(np.min(data.Z @ data.w_star)) == data.mu
    _, upper = _max_margin_direction(np.array(data.Z))
    assert upper is not None and data.mu <= upper <= data.mu * (1 + 1e-8)
    digits = _load_digits()
    assert int(np.sum(data.y == 1.0)) == int(np.sum(digits.target == a))
    assert int(np.sum(data.y == -1.0)) == int(np.sum(digits.target == b))


@pytest.mark.parametrize(("frac", "seed"), [(0.1, 0), (0.1, 1), (0.05, 0), (1.0, 0)])
def test_digits_imbalanced_class_counts(frac: float, seed: int) -> None:
    data = _digits(3, 8, frac, seed)
    full = _digits(3, 8)
    counts = np.bincount(_load_digits().target)
    n_pos, n_neg = int(counts[3]), int(counts[8])
    assert int(np.sum(data.y == 1.0)) == n_pos
    assert int(np.sum(data.y == -1.0)) == max(1, int(np.floor(frac * n_neg + 0.5)))
    # a subset of the full pair's rows, all positives kept
    full_rows = {r.tobytes() for r in full.X}
    assert all(r.tobytes() in full_rows for r in data.X)
    np.testing.assert_array_equal(data.X[data.y == 1.0], full.X[full.y == 1.0])
    assert data.mu >= full.mu - 1e-9  # fewer constraints: the margin can only grow
    assert is_separable(data.X, data.y)


def test_digits_imbalance_seed_changes_subset() -> None:
    a, b = _digits(3, 8, 0.1, 0), _digits(3, 8, 0.1, 1)
    assert a.X.shape == b.X.shape and not np.array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.X, digits_pair(3, 8, imbalance=0.1, seed=0).X)


def test_iris_and_wine_pairs() -> None:
    from sklearn.datasets import load_iris, load_wine

    iris = iris_pair()
    assert iris.X.shape == (100, 4) and not iris.mu_exact and iris.mu > 0
    np.testing.assert_array_equal(iris.X, load_iris().data[:100])
    for data in (iris, wine_pair(), wine_pair(standardize=False)):
        assert is_separable(data.X, data.y)
        assert np.all(data.Z @ data.w_star >= data.mu)
        assert data.R == pytest.approx(np.linalg.norm(data.X, axis=1).max(), rel=1e-15)
    wine = wine_pair()
    assert wine.X.shape == (130, 13)
    np.testing.assert_allclose(wine.X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(wine.X.std(axis=0), 1.0, rtol=1e-12)
    assert int(np.sum(wine.y == 1.0)) == int(np.sum(load_wine().target == 0))


def test_sklearn_missing_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)
    for make in (digits_pair, iris_pair, wine_pair):
        with pytest.raises(ImportError, match="pip install scikit-learn"):
            make()


def test_import_is_lazy() -> None:
    code = "import sys, optlab.problems.separable; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]


# -- separability -------------------------------------------------------------------------------------
def test_non_separable_data() -> None:
    X = np.array([[1.0, 2.0], [0.5, -1.0], [1.0, 2.0]])
    y = np.array([1.0, 1.0, -1.0])  # rows 0 and 2: the same point with opposite labels
    assert not is_separable(X, y)
    with pytest.raises(ValueError, match="not linearly separable"):
        max_margin(X, y)
    assert is_separable(X[:2], y[:2])
    # separable only with a bias: two points on a line through the origin, same label, opposite sides
    X2, y2 = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]), np.ones(3)
    assert not is_separable(X2, y2)
    with pytest.raises(ValueError, match="not linearly separable"):
        max_margin(X2, y2)


def test_is_separable_on_the_synthetic_sets() -> None:
    for data in (cone_set(200, 5, seed=0), worst_case_set(50), two_point_set()):
        assert is_separable(data.X, data.y)


# -- bad input -------------------------------------------------------------------------------------
_X = np.array([[1.0, 0.0], [0.0, 1.0]])
_Y = np.array([1.0, -1.0])


@pytest.mark.parametrize(("X", "y", "arg"), [
    (_X, np.array([1.0, 0.0]), "y"),
    (_X, np.array([1.0, 2.0]), "y"),
    (np.array([[np.nan, 0.0], [0.0, 1.0]]), _Y, "X"),
    (np.array([[np.inf, 0.0], [0.0, 1.0]]), _Y, "X"),
    (_X, np.array([1.0, -1.0, 1.0]), "y"),
    (np.array([1.0, 2.0]), _Y, "X"),
    (np.zeros((0, 2)), np.zeros(0), "X"),
    (np.array([[1.0, 0.0], [0.0, 0.0]]), _Y, "X"),
])
def test_bad_xy_named(X: np.ndarray, y: np.ndarray, arg: str) -> None:
    for fn in (max_margin, is_separable):
        with pytest.raises(ValueError, match=rf"^{arg}\b"):
            fn(X, y)
    with pytest.raises(ValueError, match=rf"^{arg}\b"):
        SeparableData(X, y, 1.0, 1.0, np.array([1.0, 0.0]), "bad")


@pytest.mark.parametrize(("kw", "arg"), [
    ({"mu": 0.5}, "mu"), ({"mu": -1.0}, "mu"), ({"mu": np.nan}, "mu"),
    ({"R": 2.0}, "R"), ({"R": 0.0}, "R"),
    ({"w_star": np.array([1.0, 0.0, 0.0])}, "w_star"), ({"w_star": np.array([2.0, 0.0])}, "w_star"),
    ({"R2": 3.0}, "R2"), ({"name": 3}, "name"),
])
def test_separable_data_checks_its_constants(kw: dict, arg: str) -> None:
    good = {"X": np.array([[1.0, 0.0], [-1.0, -2.0]]), "y": np.array([1.0, -1.0]), "mu": 1.0, "R": np.sqrt(5.0),
            "w_star": np.array([1.0, 0.0]), "name": "ok"}
    SeparableData(**good)  # the reference constructs
    with pytest.raises(ValueError, match=rf"^{arg}\b"):
        SeparableData(**{**good, **kw})


def test_separable_data_is_frozen_and_owns_its_arrays() -> None:
    X = np.array([[1.0, 0.0], [-1.0, -2.0]])
    data = SeparableData(X, np.array([1, -1]), 1.0, np.sqrt(5.0), np.array([1.0, 0.0]), "ok")
    assert data.y.dtype == np.float64 and data.R2 == 5.0 and data.ratio == 5.0
    X[0, 0] = 7.0
    assert data.X[0, 0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        data.X[0, 0] = 2.0
    with pytest.raises(ValueError, match="read-only"):
        data.Z[0, 0] = 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.mu = 2.0  # type: ignore[misc]


@pytest.mark.parametrize(("call", "arg"), [
    (lambda: cone_set(10, 3, mu=0.6, R=1.0), "mu"),
    (lambda: cone_set(10, 3, mu=0.0), "mu"),
    (lambda: cone_set(10, 3, R=np.inf), "R"),
    (lambda: cone_set(10, 1), "d"),
    (lambda: cone_set(0, 3), "n"),
    (lambda: worst_case_set(1), "n"),
    (lambda: worst_case_set(10.0), "n"),
    (lambda: worst_case_bp_iterations(1), "n"),
    (lambda: digits_pair(3, 3), "a"),
    (lambda: digits_pair(3, 10), "b"),
    (lambda: digits_pair(3, 8, imbalance=0.0), "imbalance"),
    (lambda: digits_pair(3, 8, imbalance=1.5), "imbalance"),
])
def test_generator_arguments_named(call, arg: str) -> None:
    with pytest.raises(ValueError, match=rf"^{arg}\b"):
        call()


# -- the worst-case Batch Perceptron count -------------------------------------------------------------
def _bp_iterations(Z: np.ndarray, max_iter: int = 100_000) -> int:
    """Batch Perceptron (spec §2.2), float64: theta_1 = mean(z)/2, then add the mean-scaled misclassified sum."""
    n = Z.shape[0]
    theta = Z.sum(axis=0) / (2 * n)
    for t in range(1, max_iter):
        m = Z @ theta
        if np.all(m > 0):
            return t
        theta = theta + Z[m <= 0].sum(axis=0) / n
    raise AssertionError("BP did not separate")


def _bp_iterations_exact(n: int) -> int:
    """The same loop on the worst-case set in rational arithmetic (z_0 once, z_1 n - 1 times)."""
    z0, z1 = (Fraction(1, 2), Fraction(-1)), (Fraction(1, 2), Fraction(1))
    th = [(z0[j] + (n - 1) * z1[j]) / (2 * n) for j in range(2)]
    for t in range(1, 10 * n):
        m0, m1 = z0[0] * th[0] + z0[1] * th[1], z1[0] * th[0] + z1[1] * th[1]
        if m0 > 0 and m1 > 0:
            return t
        th = [th[j] + ((z0[j] if m0 <= 0 else 0) + ((n - 1) * z1[j] if m1 <= 0 else 0)) / n for j in range(2)]
    raise AssertionError("BP did not separate")


@pytest.mark.parametrize(("n", "expected"), [(10, 4), (11, 4), (20, 7), (50, 16), (100, 31), (1000, 301)])
def test_worst_case_bp_closed_form(n: int, expected: int) -> None:
    T = _bp_iterations(np.array(worst_case_set(n).Z))
    assert T == expected
    assert worst_case_bp_iterations(n) == expected


def test_worst_case_bp_closed_form_exact_arithmetic() -> None:
    for n in range(2, 161):
        assert _bp_iterations_exact(n) == worst_case_bp_iterations(n), n


def test_worst_case_bp_ties_in_floating_point() -> None:
    """For n = 6 (mod 10) a margin is exactly 0 in real arithmetic; float64 rounding may decide it either way."""
    off = []
    for n in range(16, 400, 10):
        T, closed = _bp_iterations(np.array(worst_case_set(n).Z)), worst_case_bp_iterations(n)
        assert T in (closed - 1, closed)
        off.append(T != closed)
    assert any(off) and not all(off)  # both outcomes occur: a float BP can disagree with the exact count
    others = [n for n in range(10, 400) if n % 10 != 6]
    assert all(_bp_iterations(np.array(worst_case_set(n).Z)) == worst_case_bp_iterations(n) for n in others)
