"""Derivatives, optima, constants and namespaces of every problem family.

Gradients and Hessians are checked against sympy's derivatives of an independently
written symbolic objective (built from the same numbers) and against central finite
differences; the claimed ``x_star``/``f_star`` and constants are checked numerically.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import array_api_strict as xps
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from optlab.backend import to_numpy
from optlab.problems import (
    Logistic,
    LogSumExp,
    Problem,
    Rosenbrock,
    SoftmaxRegression,
    logistic_nonseparable,
    logistic_separable,
    logsumexp_shifted,
    nesterov_worst_case,
    quadratic,
    softmax_regression,
)

SymF = Callable[[list[sp.Symbol]], sp.Expr]
STRICT = type(xps.asarray(0.0))  # the array class of array_api_strict


# -- symbolic objectives, written from the formulas, not from the code ------------------------------
def _dot(row: np.ndarray, xs: list[sp.Symbol]) -> sp.Expr:
    return sp.Add(*[sp.Float(float(c)) * s for c, s in zip(row, xs, strict=True)])


def _sym_quadratic(A: np.ndarray, x_star: np.ndarray, f_star: float) -> SymF:
    def sym(xs: list[sp.Symbol]) -> sp.Expr:
        r = sp.Matrix([s - float(c) for s, c in zip(xs, x_star, strict=True)])
        return sp.Rational(1, 2) * (r.T * sp.Matrix(A) * r)[0, 0] + f_star
    return sym


def _sym_nesterov(L: float, k: int) -> SymF:
    def sym(xs: list[sp.Symbol]) -> sp.Expr:
        inner = xs[0] ** 2 + sum((xs[i] - xs[i + 1]) ** 2 for i in range(k - 1)) + xs[k - 1] ** 2
        return sp.Float(L) / 4 * (inner / 2 - xs[0])
    return sym


def _sym_logistic(X: np.ndarray, y: np.ndarray, reg: float) -> SymF:
    def sym(xs: list[sp.Symbol]) -> sp.Expr:
        loss = sum(sp.log(1 + sp.exp(-float(yi) * _dot(xi, xs))) for xi, yi in zip(X, y, strict=True))
        return loss / len(y) + sp.Float(reg) / 2 * sum(s**2 for s in xs)
    return sym


def _sym_logsumexp(A: np.ndarray, b: np.ndarray, mu: float) -> SymF:
    def sym(xs: list[sp.Symbol]) -> sp.Expr:
        return mu * sp.log(sum(sp.exp((_dot(a, xs) - float(bi)) / mu) for a, bi in zip(A, b, strict=True)))
    return sym


def _sym_softmax(X: np.ndarray, labels: np.ndarray, K: int, reg: float) -> SymF:
    d = X.shape[1]

    def sym(xs: list[sp.Symbol]) -> sp.Expr:
        cols = [[xs[j * K + k] for j in range(d)] for k in range(K)]  # w[j*K + k] = W[j, k]
        total = 0
        for xi, yi in zip(X, labels, strict=True):
            total += sp.log(sum(sp.exp(_dot(xi, cols[k])) for k in range(K))) - _dot(xi, cols[int(yi)])
        return total / len(labels) + sp.Float(reg) / 2 * sum(s**2 for s in xs)
    return sym


def _sym_rosenbrock(d: int, a: float, b: float) -> SymF:
    def sym(xs: list[sp.Symbol]) -> sp.Expr:
        return sum(b * (xs[i + 1] - xs[i] ** 2) ** 2 + (a - xs[i]) ** 2 for i in range(d - 1))
    return sym


# -- the small instances ---------------------------------------------------------------------------------
def _raw_logistic() -> tuple[Problem, SymF]:
    rng = np.random.default_rng(11)
    X = rng.standard_normal((7, 3))
    y = np.array([1, -1, 1, 1, -1, -1, 1])
    return Logistic(X, y, reg=0.3), _sym_logistic(X, y, 0.3)


def _gen_logistic(**kw: Any) -> Callable[[], tuple[Problem, SymF]]:
    def make() -> tuple[Problem, SymF]:
        p = logistic_separable(**kw) if "margin" in kw else logistic_nonseparable(**kw)
        Z = p.data(np.zeros(p.dim))["Xy"]  # rows y_i x_i, so the labels are all +1 here
        return p, _sym_logistic(to_numpy(Z), np.ones(Z.shape[0]), p.reg)
    return make


def _raw_logsumexp() -> tuple[Problem, SymF]:
    rng = np.random.default_rng(12)
    A, b = rng.standard_normal((6, 3)), rng.standard_normal(6)
    return LogSumExp(A, b, mu=0.7), _sym_logsumexp(A, b, 0.7)


def _gen_logsumexp() -> tuple[Problem, SymF]:
    p = logsumexp_shifted(8, 3, mu=0.5, seed=0)
    dat = p.data(np.zeros(p.dim))
    return p, _sym_logsumexp(to_numpy(dat["A"]), to_numpy(dat["b"]), 0.5)


def _raw_softmax() -> tuple[Problem, SymF]:
    rng = np.random.default_rng(13)
    X = rng.standard_normal((6, 2))
    labels = np.array([0, 2, 1, 1, 0, 2])
    return SoftmaxRegression(X, labels, 3, 0.0), _sym_softmax(X, labels, 3, 0.0)


def _gen_softmax() -> tuple[Problem, SymF]:
    p = softmax_regression(8, 2, 3, reg=0.2, seed=0)
    return p, _sym_softmax(to_numpy(p.data(np.zeros(p.dim))["X"]), p.labels, 3, 0.2)


def _quad() -> tuple[Problem, SymF]:
    p = quadratic(4, mu=0.1, L=2.0, spectrum="log", seed=1, f_star=0.5)
    return p, _sym_quadratic(to_numpy(p.hess(np.zeros(4))), p.x_star, 0.5)


def _rosen(d: int, a: float = 1.0, b: float = 100.0) -> Callable[[], tuple[Problem, SymF]]:
    return lambda: (Rosenbrock(d, a=a, b=b), _sym_rosenbrock(d, a, b))


CASES: dict[str, Callable[[], tuple[Problem, SymF]]] = {
    "quadratic": _quad,
    "nesterov": lambda: (nesterov_worst_case(5, L=2.0, k=4), _sym_nesterov(2.0, 4)),
    "logistic_raw": _raw_logistic,
    "logistic_sep": _gen_logistic(n=8, d=3, margin=0.2, seed=0),
    "logistic_sep_reg": _gen_logistic(n=8, d=3, margin=0.2, seed=0, reg=0.1),
    "logistic_nonsep": _gen_logistic(n=20, d=3, flip=0.2, seed=1),
    "logistic_nonsep_reg": _gen_logistic(n=20, d=3, flip=0.2, seed=1, reg=0.05),
    "logsumexp_raw": _raw_logsumexp,
    "logsumexp_shifted": _gen_logsumexp,
    "softmax_raw": _raw_softmax,
    "softmax_reg": _gen_softmax,
    "rosenbrock2": _rosen(2),
    "rosenbrock4": _rosen(4),
    "rosenbrock_a": _rosen(2, a=0.5, b=10.0),
    "rosenbrock_a0": _rosen(3, a=0.0, b=5.0),
    "rosenbrock_nostar": _rosen(3, a=2.0, b=1.0),
}
CONVEX = [k for k in CASES if not k.startswith("rosenbrock")]
WITH_F_STAR = ["quadratic", "nesterov", "logistic_sep", "logistic_sep_reg", "logistic_nonsep",
               "logistic_nonsep_reg", "logsumexp_shifted", "softmax_reg", "rosenbrock2", "rosenbrock4",
               "rosenbrock_a", "rosenbrock_a0"]
WITH_X_STAR = [k for k in WITH_F_STAR if k != "logistic_sep"]


@functools.cache
def case(name: str) -> Problem:
    return CASES[name]()[0]


@functools.cache
def symbolic(name: str) -> tuple[Callable, Callable, Callable]:
    """Lambdified (f, grad, hess) of the symbolic objective of case ``name``."""
    prob, sym = CASES[name]()
    xs = list(sp.symbols(f"x0:{prob.dim}", real=True))
    expr = sym(xs)
    grad = [sp.diff(expr, s) for s in xs]
    hess = sp.hessian(expr, xs)
    return (sp.lambdify([xs], expr, "numpy"), sp.lambdify([xs], grad, "numpy"),
            sp.lambdify([xs], hess, "numpy"))


def points(prob: Problem, k: int, seed: int = 0, scale: float = 1.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [scale * rng.standard_normal(prob.dim) for _ in range(k)]


def close(a: Any, b: Any, rtol: float, atol_rel: float | None = None) -> None:
    """``allclose`` with an absolute tolerance relative to the size of ``b``."""
    a, b = np.asarray(to_numpy(a), dtype=np.float64), np.asarray(to_numpy(b), dtype=np.float64)
    atol = (rtol if atol_rel is None else atol_rel) * max(1.0, float(np.max(np.abs(b))))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# -- derivatives ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CASES)
def test_against_sympy(name: str) -> None:
    prob = case(name)
    f_s, g_s, h_s = symbolic(name)
    for x in points(prob, 3, seed=1):
        close(prob.f(x), f_s(x), 1e-12)
        close(prob.grad(x), np.asarray(g_s(x), dtype=np.float64), 1e-10)
        close(prob.hess(x), np.asarray(h_s(x), dtype=np.float64), 1e-10)


@pytest.mark.parametrize("name", CASES)
def test_against_finite_differences(name: str) -> None:
    prob = case(name)
    h = 1e-6
    eye = np.eye(prob.dim)
    for x in points(prob, 2, seed=2, scale=0.7):
        g_fd = np.array([(prob.f(x + h * e) - prob.f(x - h * e)) / (2 * h) for e in eye])
        H_fd = np.array([(prob.grad(x + h * e) - prob.grad(x - h * e)) / (2 * h) for e in eye])
        close(prob.grad(x), g_fd, 1e-6)
        close(prob.hess(x), H_fd, 1e-6)
        close(prob.hess(x), prob.hess(x).T, 1e-14)


@pytest.mark.parametrize("name", CASES)
def test_hvp_and_value_and_grad(name: str) -> None:
    prob = case(name)
    x, v = points(prob, 2, seed=3)
    close(prob.hvp(x, v), prob.hess(x) @ v, 1e-13)
    val, g = prob.value_and_grad(x)
    close(val, prob.f(x), 1e-14)
    close(g, prob.grad(x), 1e-14)


# -- optima ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", WITH_F_STAR)
def test_gap(name: str) -> None:
    prob = case(name)
    assert prob.f_star is not None
    for x in points(prob, 3, seed=4):
        close(prob.gap(x), prob.f(x) - prob.f_star, 1e-13)


@pytest.mark.parametrize("name", ["softmax_raw", "rosenbrock_nostar", "logsumexp_raw"])
def test_unknown_optimum_is_none(name: str) -> None:
    prob = case(name)
    assert prob.x_star is None and prob.f_star is None
    with pytest.raises(ValueError, match="f_star"):
        prob.gap(np.zeros(prob.dim))


@pytest.mark.parametrize("name", WITH_X_STAR)
def test_x_star(name: str) -> None:
    prob = case(name)
    xs = prob.x_star
    assert xs is not None and xs.shape == (prob.dim,)
    assert np.linalg.norm(prob.grad(xs)) <= 1e-12 * max(1.0, prob.constants.get("L", 1.0))
    close(prob.f(xs), prob.f_star, 1e-14)
    rng = np.random.default_rng(5)
    for _ in range(20):
        u = rng.standard_normal(prob.dim)
        assert prob.f(xs + 1e-3 * u / np.linalg.norm(u)) >= prob.f_star


def test_numerical_optima_meet_documented_tolerance() -> None:
    for name in ("logistic_raw", "logistic_sep_reg", "logistic_nonsep", "logistic_nonsep_reg", "softmax_reg"):
        prob = case(name)
        assert np.linalg.norm(prob.grad(prob.x_star)) <= 1e-12
        assert prob.f_star == float(prob.f(prob.x_star))


def test_closed_form_optima() -> None:
    assert np.array_equal(Rosenbrock(2, a=0.5).x_star, [0.5, 0.25])
    assert np.array_equal(Rosenbrock(5).x_star, np.ones(5))
    assert np.array_equal(Rosenbrock(5, a=0.0).x_star, np.zeros(5))
    assert Rosenbrock(5, a=2.0).x_star is None
    assert np.array_equal(Rosenbrock(5).x0, [-1.2, 1, -1.2, 1, -1.2])
    p = logsumexp_shifted(10, 4, mu=0.3, seed=3, scale=2.0)
    assert np.array_equal(p.x_star, np.zeros(4)) and np.isclose(np.linalg.norm(p.x0), 2.0)
    b = p.data(p.x_star)["b"]
    assert math.isclose(p.f_star, 0.3 * math.log(float(np.sum(np.exp(-b / 0.3)))), rel_tol=1e-14)
    assert np.linalg.norm(p.grad(p.x_star)) <= 1e-15


def test_logistic_separable_infimum() -> None:
    prob = case("logistic_sep")
    assert prob.separable and prob.x_star is None and prob.f_star == 0.0
    gamma, w = prob.constants["margin"], prob.margin_direction
    for x in points(prob, 5, seed=6, scale=3.0):
        assert prob.f(x) > 0.0
    for t in (10.0, 100.0, 1000.0):
        assert prob.gap(t * w) <= math.log1p(math.exp(-t * gamma)) * (1 + 1e-12)


def test_logistic_margin_certificate() -> None:
    for seed in range(3):
        prob = logistic_separable(40, 4, margin=0.15, seed=seed)
        gamma = prob.constants["margin"]
        assert gamma >= prob.planted_margin - 1e-12
        assert float(np.min(prob.margins(prob.margin_direction))) == gamma
        assert gamma <= prob.margin_upper <= gamma * (1 + 1e-8)
        assert float(np.min(prob.margins(prob.planted_direction))) >= 0.15 - 1e-12
        for u in points(prob, 50, seed=seed):
            assert float(np.min(prob.margins(u / np.linalg.norm(u)))) <= prob.margin_upper + 1e-12
        assert prob.constants["R"] <= 1.0 + 1e-12
    nonsep = case("logistic_nonsep")
    assert nonsep.separable is False and "margin" not in nonsep.constants


# -- constants ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CONVEX)
def test_smoothness_and_strong_convexity_constants(name: str) -> None:
    prob = case(name)
    L, mu = prob.constants["L"], prob.constants["mu"]
    xs = points(prob, 6, seed=7) + points(prob, 4, seed=8, scale=10.0) + [np.zeros(prob.dim)]
    for x in xs:
        eig = np.linalg.eigvalsh(prob.hess(x))
        assert eig[-1] <= L * (1 + 1e-12)
        assert eig[0] >= mu - 1e-12 * L


@pytest.mark.parametrize("name", [k for k in CONVEX if k not in ("quadratic", "nesterov")])
def test_hessian_lipschitz_constant(name: str) -> None:
    prob = case(name)
    L2 = prob.constants["L2"]
    rng = np.random.default_rng(9)
    for scale in (1e-3, 0.3, 3.0):
        for x in points(prob, 4, seed=10):
            y = x + scale * rng.standard_normal(prob.dim)
            diff = np.linalg.norm(prob.hess(x) - prob.hess(y), 2)
            assert diff <= L2 * np.linalg.norm(x - y) * (1 + 1e-9) + 1e-14


def test_radius_and_local_constants() -> None:
    prob = case("logsumexp_shifted")
    assert prob.constants["mu_star"] > 0.0
    lam_min = np.linalg.eigvalsh(prob.hess(prob.x_star))[0]
    assert math.isclose(prob.constants["mu_star"], lam_min, rel_tol=1e-9)
    r = Rosenbrock(2)
    assert np.allclose([r.constants["mu_star"], r.constants["L_star"]],
                       np.linalg.eigvalsh([[802.0, -400.0], [-400.0, 200.0]]), rtol=1e-12)


# -- namespaces and dtypes -------------------------------------------------------------------------------
def _outputs(prob: Problem, x: Any, v: Any) -> list[Any]:
    val, g = prob.value_and_grad(x)
    out = [prob.f(x), prob.grad(x), prob.hess(x), prob.hvp(x, v), val, g]
    if prob.f_star is not None:
        out.append(prob.gap(x))
    if isinstance(prob, Logistic):
        out.append(prob.margins(x))
    return out


@pytest.mark.parametrize("name", CASES)
def test_array_api_strict_matches_numpy(name: str) -> None:
    prob = case(name)
    x, v = points(prob, 2, seed=11)
    ref = _outputs(prob, x, v)
    got = _outputs(prob, xps.asarray(x), xps.asarray(v))
    for r, g in zip(ref, got, strict=True):
        assert isinstance(g, STRICT) and g.dtype == xps.float64
        close(g, r, 1e-12)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("lib", ["numpy", "array_api_strict"])
def test_float32_in_float32_out(name: str, lib: str) -> None:
    prob = case(name)
    x, v = points(prob, 2, seed=12, scale=0.5)
    ref = _outputs(prob, x, v)
    if lib == "numpy":
        x32, v32, dt, kind = x.astype(np.float32), v.astype(np.float32), np.float32, np.ndarray
    else:
        x32, v32, dt, kind = (xps.asarray(x, dtype=xps.float32), xps.asarray(v, dtype=xps.float32),
                              xps.float32, STRICT)
    for r, g in zip(ref, _outputs(prob, x32, v32), strict=True):
        assert g.dtype == dt and (isinstance(g, kind) or np.ndim(g) == 0)
        close(g, r, 1e-3, atol_rel=1e-3)


# -- bad input -------------------------------------------------------------------------------------------
_X = np.random.default_rng(0).standard_normal((5, 2))
_y = np.array([1, -1, 1, -1, 1])
_X_nan = _X.copy()
_X_nan[1, 0] = np.nan
_X_zero = _X.copy()
_X_zero[2] = 0.0

BAD = [
    (lambda: Logistic(_X, np.array([1, 0, 1, -1, 1])), "y"),
    (lambda: Logistic(_X, np.array([1, 2, 1, -1, 1])), "y"),
    (lambda: Logistic(_X, _y[:4]), "y"),
    (lambda: Logistic(_X, _y[:, None]), "y"),
    (lambda: Logistic(_X_nan, _y), "X"),
    (lambda: Logistic(_X[:, 0], _y), "X"),
    (lambda: Logistic(_X_zero, _y), "X"),
    (lambda: Logistic(_X, _y, reg=-1.0), "reg"),
    (lambda: LogSumExp(_X_nan, np.zeros(5)), "A"),
    (lambda: LogSumExp(_X, np.zeros(4)), "b"),
    (lambda: LogSumExp(_X, np.array([0, 0, np.inf, 0, 0])), "b"),
    (lambda: LogSumExp(_X, np.zeros(5), mu=0.0), "mu"),
    (lambda: SoftmaxRegression(_X, np.array([0, 1, 3, 0, 1]), 3), "Y_labels"),
    (lambda: SoftmaxRegression(_X, np.array([0, 1, 0.5, 0, 1]), 3), "Y_labels"),
    (lambda: SoftmaxRegression(_X, np.array([0, 1, -1, 0, 1]), 3), "Y_labels"),
    (lambda: SoftmaxRegression(_X, np.array([0, 1, 1, 0]), 3), "Y_labels"),
    (lambda: SoftmaxRegression(_X_nan, np.array([0, 1, 1, 0, 1]), 3), "X"),
    (lambda: SoftmaxRegression(_X, np.array([0, 0, 0, 0, 0]), 1), "n_classes"),
    (lambda: Rosenbrock(1), "dim"),
    (lambda: Rosenbrock(3, b=0.0), "b"),
    (lambda: logistic_separable(10, 2, margin=1.5), "margin"),
    (lambda: logistic_nonseparable(10, 2, flip=0.7), "flip"),
    (lambda: logsumexp_shifted(7, 2), "n"),
]


@pytest.mark.parametrize(("make", "arg"), BAD)
def test_bad_input_names_the_argument(make: Callable[[], Any], arg: str) -> None:
    with pytest.raises(ValueError, match=rf"\b{arg}\b"):
        make()


# -- properties -----------------------------------------------------------------------------------------
_X3 = np.random.default_rng(20).standard_normal((9, 3))
_y3 = np.array([1, -1, 1, 1, -1, 1, -1, -1, 1])
_A = np.random.default_rng(21).standard_normal((7, 3))
_b = np.random.default_rng(22).standard_normal(7)


def _vec(dim: int, bound: float = 5.0) -> st.SearchStrategy:
    return hnp.arrays(np.float64, dim, elements=st.floats(-bound, bound, allow_nan=False))


@pytest.mark.parametrize("name", CONVEX)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_convexity_inequality(name: str, data: st.DataObject) -> None:
    prob = case(name)
    x, y = data.draw(_vec(prob.dim)), data.draw(_vec(prob.dim))
    fx, gx = prob.value_and_grad(x)
    fy = prob.f(y)
    assert fy >= fx + gx @ (y - x) - 1e-12 * (1 + abs(fx) + abs(fy) + np.abs(gx) @ np.abs(y - x))


@settings(max_examples=25, deadline=None)
@given(theta=_vec(3, bound=1e3), reg=st.sampled_from([0.0, 0.1]))
def test_logistic_loss_nonnegative_and_stable(theta: np.ndarray, reg: float) -> None:
    prob = Logistic(_X3, _y3, reg=reg)
    val, g = prob.value_and_grad(theta)
    assert np.isfinite(val) and np.all(np.isfinite(g)) and np.all(np.isfinite(prob.hess(theta)))
    assert val >= 0.0
    m = prob.margins(theta)
    assert val >= np.mean(np.maximum(-m, 0.0)) * (1 - 1e-12)  # log(1 + e^-m) >= max(-m, 0)


@settings(max_examples=25, deadline=None)
@given(x=_vec(3, bound=50.0), c=st.floats(-30, 30), mu=st.sampled_from([0.05, 1.0, 7.0]))
def test_logsumexp_shift_invariance_and_bounds(x: np.ndarray, c: float, mu: float) -> None:
    base = LogSumExp(_A, _b, mu=mu)
    shifted = LogSumExp(_A, _b + c, mu=mu)
    fx = float(base.f(x))
    assert math.isclose(float(shifted.f(x)), fx - c, rel_tol=1e-12, abs_tol=1e-12 * (1 + abs(fx) + abs(c)))
    close(shifted.grad(x), base.grad(x), 1e-12)
    top = float(np.max(_A @ x - _b))
    assert top - 1e-12 * (1 + abs(top)) <= fx <= top + mu * math.log(7) + 1e-12 * (1 + abs(top))


@settings(max_examples=25, deadline=None)
@given(dim=st.integers(2, 8), mu=st.floats(0.0, 1.0), ratio=st.floats(1.0, 1e4),
       spectrum=st.sampled_from(["linear", "log"]), seed=st.integers(0, 2**16))
def test_quadratic_extreme_eigenvalues(dim: int, mu: float, ratio: float, spectrum: str, seed: int) -> None:
    if spectrum == "log" and mu == 0.0:
        mu = 1e-3
    L = max(mu * ratio, 1e-3)
    prob = quadratic(dim, mu=mu, L=L, spectrum=spectrum, seed=seed)
    eig = np.linalg.eigvalsh(prob.hess(np.zeros(dim)))
    assert math.isclose(eig[0], mu, abs_tol=1e-12 * L) and math.isclose(eig[-1], L, rel_tol=1e-12)
    assert prob.constants["mu"] == mu and prob.constants["L"] == L


@settings(max_examples=25, deadline=None)
@given(W=_vec(6), c=_vec(2))
def test_softmax_unregularized_column_shift_invariance(W: np.ndarray, c: np.ndarray) -> None:
    prob = case("softmax_raw")  # d = 2, K = 3, reg = 0: adding c to every column changes nothing
    shifted = (W.reshape(2, 3) + c[:, None]).ravel()
    assert math.isclose(float(prob.f(shifted)), float(prob.f(W)), rel_tol=1e-12, abs_tol=1e-12)


@settings(max_examples=25, deadline=None)
@given(x=_vec(4, bound=3.0))
def test_rosenbrock_nonnegative(x: np.ndarray) -> None:
    prob = case("rosenbrock4")
    assert prob.f(x) >= 0.0 and prob.gap(x) == prob.f(x)
