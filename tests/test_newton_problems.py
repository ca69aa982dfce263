"""The problem families of the gradient-regularized Newton / GNS spec and their approximate Hessians.

Gradients and Hessians are checked against sympy's derivatives of a symbolic objective written
here from the formulas (with the same numbers) and against central finite differences; each
approximate Hessian against its formula computed independently here.
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
from scipy.special import expit, softmax

from optlab.backend import to_numpy
from optlab.problems import (
    LogisticApprox,
    LogSumExpShifted,
    NonlinearEquations,
    PowerChain,
    Problem,
    chebyshev_chain,
    cubic_plus_linear,
    logistic_label_noise,
    lse_shifted,
    nle_linear,
    power_chain,
    rosenbrock_nle,
    sqrt_one_plus_sq,
)

STRICT = type(xps.asarray(0.0))
SymList = Callable[[list[sp.Symbol]], list[sp.Expr]]


def _dot(row: np.ndarray, xs: list[sp.Symbol]) -> sp.Expr:
    return sp.Add(*[sp.Float(float(c)) * s for c, s in zip(row, xs, strict=True)])


# -- small instances with symbolic residuals / objectives ------------------------------------------
def _u_linear(prob: Any) -> SymList:
    A, b = prob._np_data["A"], prob._np_data["b"]
    return lambda xs: [_dot(A[i], xs) - float(b[i]) for i in range(A.shape[0])]


def _u_rosen(prob: Any) -> SymList:
    return lambda xs: [1 - xs[0], 10 * (xs[1] - xs[0] ** 2)]


def _u_cheb(prob: Any) -> SymList:
    return lambda xs: [(1 - xs[0]) / 2] + [xs[i] - (2 * xs[i - 1] ** 2 - 1) for i in range(1, len(xs))]


NLE: dict[str, tuple[Callable[[], NonlinearEquations], Callable[[Any], SymList]]] = {
    "nle_linear_p4": (lambda: nle_linear(3, 5, p=4, seed=1), _u_linear),
    "nle_linear_p3": (lambda: nle_linear(3, 5, p=3, seed=2), _u_linear),
    "rosenbrock_nle_p5": (lambda: rosenbrock_nle(p=5), _u_rosen),
    "rosenbrock_nle_p2": (lambda: rosenbrock_nle(p=2), _u_rosen),
    "chebyshev_p4": (lambda: chebyshev_chain(5, p=4, seed=3), _u_cheb),
    "chebyshev_p3.5": (lambda: chebyshev_chain(4, p=3.5, seed=4), _u_cheb),
}


def _sym_nle(name: str) -> Callable[[list[sp.Symbol]], sp.Expr]:
    make, u_of = NLE[name]
    prob = make()
    p = sp.Float(prob.p)

    def sym(xs: list[sp.Symbol]) -> sp.Expr:
        return sp.Add(*[ui**2 for ui in u_of(prob)(xs)]) ** (p / 2) / p
    return sym


def _sym_lse(prob: LogSumExpShifted) -> Callable[[list[sp.Symbol]], sp.Expr]:
    A, b, mu = prob._np_data["A"], prob._np_data["b"], prob.mu
    return lambda xs: mu * sp.log(sp.Add(*[sp.exp((_dot(A[i], xs) - float(b[i])) / mu) for i in range(A.shape[0])]))


def _sym_logistic(prob: LogisticApprox) -> Callable[[list[sp.Symbol]], sp.Expr]:
    Z = prob._np_data["Xy"]
    return lambda xs: sp.Add(*[sp.log(1 + sp.exp(-_dot(z, xs))) for z in Z]) / Z.shape[0]


def _sym_power(q: float) -> Callable[[list[sp.Symbol]], sp.Expr]:
    # |r|^q written as (r^2)^(q/2): smooth away from r = 0, so no DiracDelta in the derivatives
    qq = sp.Float(q) if q != int(q) else sp.Integer(int(q))
    return lambda xs: ((xs[0] ** 2) ** (qq / 2) + sp.Add(*[((xs[i + 1] - xs[i]) ** 2) ** (qq / 2)
                                                          for i in range(len(xs) - 1)])) / qq


def _sym_cubic(prob: Any) -> Callable[[list[sp.Symbol]], sp.Expr]:
    c = prob._np_data["c"]
    return lambda xs: sp.Add(*[s**2 for s in xs]) ** sp.Rational(3, 2) / 3 + _dot(c, xs)


@functools.cache
def _logistic_small() -> LogisticApprox:
    return logistic_label_noise(40, 3, flip=0.15, seed=0)


FAMILIES: dict[str, tuple[Callable[[], Problem], Callable[[Any], Callable[[list[sp.Symbol]], sp.Expr]]]] = {
    **{k: (v[0], functools.partial(lambda prob, k: _sym_nle(k), k=k)) for k, v in NLE.items()},
    "lse_shifted": (lambda: lse_shifted(6, 4, mu=0.7, seed=1), _sym_lse),
    "logistic": (_logistic_small, _sym_logistic),
    "power_chain_q3": (lambda: power_chain(5, q=3), lambda prob: _sym_power(3)),
    "power_chain_q2.5": (lambda: power_chain(4, q=2.5), lambda prob: _sym_power(2.5)),
    "power_chain_q2": (lambda: power_chain(4, q=2), lambda prob: _sym_power(2)),
    "sqrt_one_plus_sq": (sqrt_one_plus_sq, lambda prob: (lambda xs: sp.sqrt(1 + xs[0] ** 2))),
    "cubic_plus_linear": (lambda: cubic_plus_linear(4, seed=2), _sym_cubic),
}

EXPECTED_KINDS = {
    "nle": ("gauss_newton", "fisher"),
    "lse_shifted": ("wgn",),
    "logistic": ("fisher", "weighted"),
    "power_chain": (),
    "sqrt_one_plus_sq": (),
    "cubic_plus_linear": (),
}


@functools.cache
def _make(name: str) -> Problem:
    return FAMILIES[name][0]()


@functools.cache
def _symbolic(name: str) -> tuple[Callable, Callable, Callable]:
    """Lambdified ``f``, gradient and Hessian of the symbolic objective."""
    prob = _make(name)
    # no ``real=True``: it would turn the power chain's (r^2)^(q/2) back into Abs(r)^q
    xs = list(sp.symbols(f"x0:{prob.dim}"))
    f = FAMILIES[name][1](prob)(xs)
    g = [sp.diff(f, s) for s in xs]
    H = sp.hessian(f, xs)
    return (sp.lambdify([xs], f, "numpy"), sp.lambdify([xs], g, "numpy"), sp.lambdify([xs], H, "numpy"))


def _points(prob: Problem, k: int = 3, seed: int = 0) -> list[np.ndarray]:
    """``x0`` (unless it has a zero difference, where the power chain's symbolic form is 0/0)
    and ``k`` random points."""
    rng = np.random.default_rng(seed)
    pts = [prob.x_init()] if not isinstance(prob, PowerChain) else []
    pts += [0.7 * rng.standard_normal(prob.dim) for _ in range(k)]
    return pts


def _close(a: Any, b: Any, rtol: float = 1e-10) -> None:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale)


# -- exact derivatives -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(FAMILIES))
def test_against_sympy(name: str) -> None:
    prob = _make(name)
    f_s, g_s, H_s = _symbolic(name)
    for x in _points(prob):
        _close(prob.f(x), f_s(x))
        _close(prob.grad(x), np.asarray(g_s(x), dtype=float))
        _close(prob.hess(x), np.asarray(H_s(x), dtype=float))
        v = np.linspace(-1.0, 1.0, prob.dim)
        _close(prob.hvp(x, v), np.asarray(H_s(x), dtype=float) @ v)
        val, g = prob.value_and_grad(x)
        _close(val, f_s(x))
        _close(g, np.asarray(g_s(x), dtype=float))


@pytest.mark.parametrize("name", list(FAMILIES))
def test_against_finite_differences(name: str) -> None:
    prob = _make(name)
    for x in _points(prob, seed=1):
        h = 1e-6 * max(1.0, float(np.max(np.abs(x))))
        eye = np.eye(prob.dim)
        g_fd = np.array([(float(prob.f(x + h * e)) - float(prob.f(x - h * e))) / (2 * h) for e in eye])
        H_fd = np.array([(prob.grad(x + h * e) - prob.grad(x - h * e)) / (2 * h) for e in eye])
        g, H = np.asarray(prob.grad(x)), np.asarray(prob.hess(x))
        rounding = 1e-13 * abs(float(prob.f(x))) / h  # of f in the difference quotient
        assert np.linalg.norm(g_fd - g) <= 1e-6 * (1.0 + np.linalg.norm(g)) + rounding
        assert np.linalg.norm(H_fd - H) <= 1e-6 * (1.0 + np.linalg.norm(H))


# -- approximations -----------------------------------------------------------------------------------
def _kinds_key(name: str) -> str:
    for key in EXPECTED_KINDS:
        if name.startswith(key):
            return key
    return "nle"


@pytest.mark.parametrize("name", list(FAMILIES))
def test_approximation_kinds_and_bad_kind(name: str) -> None:
    prob = _make(name)
    assert tuple(prob.approximations) == EXPECTED_KINDS[_kinds_key(name)]
    x = prob.x_init()
    with pytest.raises(ValueError, match="no_such_kind") as err:
        prob.hess_approx("no_such_kind", x)
    for kind in prob.approximations:
        assert repr(kind) in str(err.value)
    with pytest.raises(ValueError, match="exact"):
        prob.hess_approx("exact", x)


@pytest.mark.parametrize("name", list(NLE))
def test_nle_approximations(name: str) -> None:
    prob = _make(name)
    xs = list(sp.symbols(f"x0:{prob.dim}", real=True))
    u_exprs = NLE[name][1](prob)(xs)
    u_f = sp.lambdify([xs], u_exprs, "numpy")
    J_f = sp.lambdify([xs], sp.Matrix(u_exprs).jacobian(xs), "numpy")
    Hu_f = [sp.lambdify([xs], sp.hessian(ui, xs), "numpy") for ui in u_exprs]
    p = prob.p
    for x in _points(prob, seed=2):
        u = np.asarray(u_f(x), dtype=float)
        J = np.asarray(J_f(x), dtype=float)
        r = np.linalg.norm(u)
        curv = sum(ui * np.asarray(Hi(x), dtype=float) for ui, Hi in zip(u, Hu_f, strict=True))
        v = J.T @ u
        fisher = (p - 2) * r ** (p - 4) * np.outer(v, v)
        gn = prob.hess_approx("gauss_newton", x)
        _close(gn, np.asarray(prob.hess(x)) - r ** (p - 2) * curv)
        _close(gn, r ** (p - 2) * J.T @ J + fisher)
        _close(prob.hess_approx("fisher", x), fisher)
        c, vv = prob.rank_one(x)
        _close(float(c) * np.outer(vv, vv), fisher)
        _close(vv, v)
        # the spec's identity: fisher = (p-2) ||u||^{-p} grad grad^T
        g = np.asarray(prob.grad(x))
        _close(prob.hess_approx("fisher", x), (p - 2) * r ** (-p) * np.outer(g, g))


@pytest.mark.parametrize("name", ["rosenbrock_nle_p5", "rosenbrock_nle_p2", "chebyshev_p3.5"])
def test_nle_at_a_root(name: str) -> None:
    prob = _make(name)
    x = prob.x_star
    assert float(prob.f(x)) == 0.0
    assert np.all(np.asarray(prob.grad(x)) == 0.0)
    H = np.asarray(prob.hess(x))
    assert np.all(np.isfinite(H))
    assert np.all(np.asarray(prob.hess_approx("fisher", x)) == 0.0)
    c, _ = prob.rank_one(x)
    assert float(c) == 0.0
    if prob.p == 2:  # Hessian = J^T J at a root
        J = np.asarray(prob.jacobian(x))
        _close(H, J.T @ J)
    else:
        assert np.all(H == 0.0)
    # p = 3.5 < 4 near the root: the rank-one term is small and finite, O(||u||^{p-2})
    if prob.p < 4:
        y = x + 1e-6
        assert np.all(np.isfinite(np.asarray(prob.hess_approx("fisher", y))))


def test_lse_wgn() -> None:
    prob = _make("lse_shifted")
    A, b, mu = prob._np_data["A"], prob._np_data["b"], prob.mu
    for x in _points(prob, seed=3):
        pi = softmax((A @ x - b) / mu)
        wgn = np.asarray(prob.hess_approx("wgn", x))
        _close(wgn, A.T @ np.diag(pi) @ A / mu)
        _close(prob.hess(x), A.T @ (np.diag(pi) - np.outer(pi, pi)) @ A / mu)
        g = np.asarray(prob.grad(x))
        _close(wgn - np.asarray(prob.hess(x)), np.outer(g, g) / mu)


def test_logistic_approximations() -> None:
    prob = _make("logistic")
    Z = prob._np_data["Xy"]
    n = Z.shape[0]
    for x in _points(prob, seed=4):
        s = expit(-(Z @ x))
        fisher = (Z.T * s**2) @ Z / n
        weighted = (Z.T * s) @ Z / n
        _close(prob.hess_approx("fisher", x), fisher)
        _close(prob.hess_approx("weighted", x), weighted)
        _close(prob.hess(x), weighted - fisher)  # s (1 - s) = s - s^2


def test_logistic_approximations_with_ridge() -> None:
    base = _make("logistic")
    X, y = base._np_data["Xy"], np.ones(base.n)
    prob = LogisticApprox(X, y, reg=0.3, solve=False)
    x = np.array([0.2, -0.4, 0.1])
    _close(np.asarray(prob.hess_approx("weighted", x)) - np.asarray(prob.hess_approx("fisher", x)),
           np.asarray(prob.hess(x)) - 0.3 * np.eye(3))  # both approximations carry + reg I


@pytest.mark.parametrize("name", [n for n in FAMILIES if _kinds_key(n) in ("nle", "lse_shifted", "logistic")])
def test_approximations_symmetric_psd(name: str) -> None:
    prob = _make(name)
    for x in _points(prob, k=5, seed=5):
        for kind in prob.approximations:
            H = np.asarray(prob.hess_approx(kind, x))
            assert H.shape == (prob.dim, prob.dim)
            assert np.all(np.isfinite(H))
            np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-12 * max(1.0, np.abs(H).max()))
            eig = np.linalg.eigvalsh(H)
            assert eig[0] >= -1e-10 * max(1.0, eig[-1]), (kind, eig[0])


# -- optima, constants, metrics --------------------------------------------------------------------
DEFAULTS: dict[str, Callable[[], Problem]] = {
    "nle_linear": nle_linear,
    "rosenbrock_nle": rosenbrock_nle,
    "chebyshev_chain": chebyshev_chain,
    "lse_shifted": lse_shifted,
    "logistic_label_noise": logistic_label_noise,
    "power_chain": power_chain,
    "sqrt_one_plus_sq": sqrt_one_plus_sq,
    "cubic_plus_linear": cubic_plus_linear,
}


@functools.cache
def _default(name: str) -> Problem:
    return DEFAULTS[name]()


@pytest.mark.parametrize("name", list(DEFAULTS) + [n for n in FAMILIES if n != "logistic"])
def test_x_star_f_star(name: str) -> None:
    prob = _default(name) if name in DEFAULTS else _make(name)
    assert prob.x_star is not None and prob.f_star is not None
    fx = float(prob.f(prob.x_star))
    assert math.isclose(fx, prob.f_star, rel_tol=1e-12, abs_tol=1e-14)
    g = np.asarray(prob.grad(prob.x_star))
    assert np.linalg.norm(g) <= 1e-10 * max(1.0, abs(prob.f_star))
    assert abs(float(prob.gap(prob.x_star))) <= 1e-12 * max(1.0, abs(prob.f_star))
    x0 = prob.x_init()
    assert x0.shape == (prob.dim,) and float(prob.f(x0)) > prob.f_star


def test_starting_points_and_shapes() -> None:
    np.testing.assert_array_equal(_default("nle_linear").x0, np.ones(200))
    np.testing.assert_array_equal(_default("rosenbrock_nle").x0, [-2.0, 2.0])
    x0 = _default("chebyshev_chain").x0
    assert x0.shape == (200,) and np.all((x0 >= 0) & (x0 <= 1))
    np.testing.assert_array_equal(_default("lse_shifted").x0, np.ones(200))
    np.testing.assert_array_equal(_default("power_chain").x0, np.ones(100))
    np.testing.assert_array_equal(_default("sqrt_one_plus_sq").x0, [10.0])
    assert _default("nle_linear").p == 4 and _default("rosenbrock_nle").p == 5 and _default("chebyshev_chain").p == 4
    prob = _default("logistic_label_noise")
    assert prob.n == 500 and prob.dim == 10 and prob.separable is False
    assert math.isclose(float(np.linalg.norm(prob.planted_w)), 3.0)
    assert np.linalg.norm(prob.grad(prob.x_star)) <= 1e-12


def test_metrics() -> None:
    prob = _default("nle_linear")
    A = prob._np_data["A"]
    np.testing.assert_allclose(prob.metric, A.T @ A + 1e-8 * np.eye(200), rtol=1e-14, atol=1e-20)
    assert np.linalg.eigvalsh(prob.metric)[0] > 0
    lse = _default("lse_shifted")
    A = lse._np_data["A"]
    assert np.linalg.matrix_rank(A) <= 199  # shifted A is rank-deficient when m = n
    assert np.linalg.eigvalsh(lse.metric)[0] > 0  # A0^T A0 is SPD
    # the metric came from the unshifted rows (the generator draws A0 first from the seed);
    # A0 - A has identical rows g0
    rng = np.random.default_rng(0)
    A0 = rng.standard_normal((200, 200))
    np.testing.assert_allclose(lse.metric, A0.T @ A0, rtol=1e-12)
    diff = A0 - A
    np.testing.assert_allclose(diff, np.broadcast_to(diff[0], diff.shape), rtol=1e-12, atol=1e-12)


def test_sqrt_one_plus_sq_constants_and_newton_divergence() -> None:
    prob = _default("sqrt_one_plus_sq")
    t = np.linspace(-5.0, 5.0, 200001)
    third = np.abs(-3.0 * t * (1.0 + t * t) ** -2.5)
    L2 = prob.constants["L2"]
    assert L2 == pytest.approx(1.5 * 0.8**2.5)
    assert third.max() <= L2 * (1 + 1e-12)
    assert third.max() >= L2 * (1 - 1e-8)  # attained at x = 1/2
    # and the oracle's Hessian is L2-Lipschitz numerically
    h = np.array([float(prob.hess(np.array([s]))[0, 0]) for s in t[::1000]])
    assert np.max(np.abs(np.diff(h)) / np.diff(t[::1000])) <= L2
    x = prob.x_init()
    for _ in range(4):
        x_new = x - np.linalg.solve(prob.hess(x), prob.grad(x))
        np.testing.assert_allclose(x_new, -x**3, rtol=1e-10)
        x = x_new
    assert abs(x[0]) > 1e6
    assert float(prob.gap(np.array([1e-9]))) == pytest.approx(5e-19, rel=1e-12)


def _check_hessian_lipschitz(prob: Problem, L2: float, scale: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(200):
        x = scale * rng.standard_normal(prob.dim)
        y = x + scale * 10.0 ** rng.uniform(-3, 0) * rng.standard_normal(prob.dim)
        ratio = np.linalg.norm(np.asarray(prob.hess(x)) - np.asarray(prob.hess(y)), 2) / np.linalg.norm(x - y)
        worst = max(worst, ratio)
    assert worst <= L2 * (1 + 1e-12)


def test_power_chain_constants() -> None:
    prob = power_chain(8, q=3)
    _check_hessian_lipschitz(prob, prob.constants["L2"], 1.0, 0)
    q2 = power_chain(8, q=2)
    assert q2.constants["L2"] == 0.0
    _close(q2.hess(np.ones(8)), q2.hess(np.zeros(8)))
    assert np.linalg.eigvalsh(q2.hess(np.zeros(8)))[-1] == pytest.approx(q2.constants["L"])
    for q in (2.0, 2.5, 3.0, 4.0):
        p = power_chain(6, q=q)
        for x in _points(p, k=4, seed=6):
            assert np.linalg.eigvalsh(np.asarray(p.hess(x)))[0] >= -1e-12
    assert float(_default("power_chain").f(np.ones(100))) == pytest.approx(1 / 3)
    for q in (2.5, 3.0):  # at x0 = ones, r = e_1: grad = e_1, Hessian (q-1) e_1 e_1^T
        p = power_chain(5, q=q)
        e1 = np.eye(5)[0]
        _close(p.grad(p.x_init()), e1)
        _close(p.hess(p.x_init()), (q - 1) * np.outer(e1, e1))


def test_cubic_plus_linear_closed_forms() -> None:
    prob = _default("cubic_plus_linear")
    c = prob._np_data["c"]
    nc = np.linalg.norm(c)
    np.testing.assert_allclose(prob.x_star, -c / np.sqrt(nc), rtol=1e-14)
    assert prob.f_star == pytest.approx(-2.0 / 3.0 * nc**1.5, rel=1e-14)
    assert np.all(np.asarray(prob.hess(np.zeros(prob.dim))) == 0.0)
    _check_hessian_lipschitz(prob, prob.constants["L2"], 1.0, 1)


@pytest.mark.parametrize("make, match", [
    (lambda: nle_linear(3, 5, p=1.5), "p must"),
    (lambda: rosenbrock_nle(p=float("nan")), "p must"),
    (lambda: chebyshev_chain(1), "n must"),
    (lambda: lse_shifted(4, 4, mu=0.0), "mu must"),
    (lambda: logistic_label_noise(50, 3, flip=0.7), "flip must"),
    (lambda: power_chain(5, q=1.5), "q must"),
    (lambda: cubic_plus_linear(0), "n must"),
])
def test_bad_parameters(make: Callable[[], Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_separable_logistic_raises() -> None:
    with pytest.raises(RuntimeError, match="separable"):
        logistic_label_noise(20, 5, flip=0.0, seed=0)


# -- namespaces and dtypes -----------------------------------------------------------------------------
def _outputs(prob: Problem, x: Any) -> list[Any]:
    v = x * 0.5 + 0.25
    out = [prob.f(x), prob.grad(x), prob.hess(x), prob.hvp(x, v), *prob.value_and_grad(x)]
    out += [prob.hess_approx(kind, x) for kind in prob.approximations]
    if isinstance(prob, NonlinearEquations):
        out += list(prob.rank_one(x))
    if prob.f_star is not None:
        out.append(prob.gap(x))
    return out


@pytest.mark.parametrize("name", list(FAMILIES))
def test_array_api_strict_matches_numpy(name: str) -> None:
    prob = _make(name)
    for x in _points(prob, k=2, seed=7):
        ref = _outputs(prob, x)
        got = _outputs(prob, xps.asarray(x))
        for a, b in zip(got, ref, strict=True):
            assert isinstance(a, STRICT)
            _close(to_numpy(a), b, rtol=1e-13)


@pytest.mark.parametrize("name", list(FAMILIES))
@pytest.mark.parametrize("lib", ["numpy", "array_api_strict"])
def test_float32_in_float32_out(name: str, lib: str) -> None:
    prob = _make(name)
    x = _points(prob, k=1, seed=8)[-1]
    if lib == "numpy":
        x32, dt, kind = x.astype(np.float32), np.float32, np.ndarray
    else:
        x32, dt, kind = xps.asarray(x, dtype=xps.float32), xps.float32, STRICT
    ref = _outputs(prob, x)
    for a, b in zip(_outputs(prob, x32), ref, strict=True):
        assert isinstance(a, kind) or (lib == "numpy" and isinstance(a, np.generic)), type(a)
        assert a.dtype == dt
        _close(to_numpy(a), b, rtol=2e-4)
