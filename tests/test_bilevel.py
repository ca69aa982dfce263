"""Bilevel problems (closed forms vs sympy and finite differences) and methods (trace, status, paths)."""

import math

import array_api_strict as xps
import numpy as np
import pytest
import sympy as sp

from optlab.bilevel import bo_rep, bo_rep_theory, ma_soba, soba, stocbio, theory_parameters, ttsa
from optlab.problems.bilevel import QUARTIC_L0, bilevel_p1, bilevel_p2, hyper_cleaning

METHODS = [bo_rep, stocbio, soba, ma_soba, ttsa]


@pytest.fixture(scope="module")
def p1():
    return bilevel_p1(3, 2, seed=4, sigma=0.2)


def _fd(fun, x, h=1e-6):
    return np.array([(fun(x + h * e) - fun(x - h * e)) / (2 * h) for e in np.eye(len(x))])


@pytest.mark.parametrize("upper", ["quartic", "cosh"])
def test_phi_derivatives_match_sympy(upper):
    prob = (bilevel_p1 if upper == "quartic" else bilevel_p2)(2, 2, seed=1, sigma=0.0)
    d = prob.data(np.zeros(2))
    xs = sp.symbols("x0 x1")
    ys = sp.Matrix(np.asarray(d["M"])) * sp.Matrix(xs)
    u = [((s**2 - 1) ** 2 / 4) if upper == "quartic" else (sp.cosh(s) - 2 * s**2) for s in xs]
    phi = sum(u) + sum(sp.log(sp.cosh(ys[j] - float(d["c"][j]))) for j in range(2))
    grad = [sp.diff(phi, s) for s in xs]
    hess = [[sp.diff(g, s) for s in xs] for g in grad]
    x = np.array([0.7, -1.3])
    sub = dict(zip(xs, x, strict=True))
    np.testing.assert_allclose(prob.f(x), float(phi.subs(sub)), rtol=1e-12)
    np.testing.assert_allclose(prob.grad(x), [float(g.subs(sub)) for g in grad], rtol=1e-11)
    np.testing.assert_allclose(prob.hess(x), [[float(h.subs(sub)) for h in row] for row in hess], rtol=1e-10)


def test_closed_forms_and_finite_differences(p1):
    x = np.array([0.3, -1.1, 2.0])
    d = p1.data(x)
    A, B = np.asarray(d["A"]), np.asarray(d["B"])
    ys = p1.y_star(x)
    np.testing.assert_allclose(A @ ys, B @ x, rtol=1e-12)  # y* = A^-1 B x
    np.testing.assert_allclose(p1.lower_grad_y(x, ys), 0, atol=1e-12)
    np.testing.assert_allclose(p1.grad(x), _fd(p1.f, x), rtol=1e-7)
    np.testing.assert_allclose(p1.hess(x), np.array([_fd(lambda v, i=i: p1.grad(v)[i], x) for i in range(3)]),
                               rtol=1e-6, atol=1e-8)
    # hypergradient formula: grad_x f - Hess_xy g [Hess_yy g]^-1 grad_y f at y*, with Hess_xy g = -B^T
    gx, gy = p1.upper_grad(x, ys)
    np.testing.assert_allclose(p1.grad(x), gx + B.T @ np.linalg.solve(A, gy), rtol=1e-12)
    np.testing.assert_allclose(p1.z_star(x, ys), np.linalg.solve(A, gy), rtol=1e-12)
    # logcosh is stable far out
    assert math.isfinite(float(p1.upper_value(x, np.full(2, 1e6))))


def test_constants_and_envelope(p1):
    assert abs(QUARTIC_L0 - 5.0792) < 1e-3
    c = p1.constants
    assert c["mu"] == pytest.approx(1.0) and c["l_g1"] == pytest.approx(10.0)
    assert c["L0"] == pytest.approx(QUARTIC_L0 + c["norm_M"] ** 2 + math.sqrt(2) * c["norm_M"])
    X = 4 * np.random.default_rng(0).standard_normal((300, 3))
    for x in X:
        assert np.linalg.norm(p1.hess(x), 2) <= c["L0"] + c["L1"] * np.linalg.norm(p1.grad(x)) + 1e-9


def test_oracles_unbiased_and_noise_law(p1):
    rng = np.random.default_rng(0)
    x, y, v = np.array([0.5, -0.2, 1.0]), np.array([0.3, -0.7]), np.array([1.0, 2.0])
    d = p1.data(x)
    A, B = np.asarray(d["A"]), np.asarray(d["B"])
    n = 20000
    H = np.array([p1.hvp_yy(x, y, v, rng) for _ in range(n)])
    np.testing.assert_allclose(H.mean(0), A @ v, atol=0.02)
    # Cov of W v for a GOE W (N(0, 1/dy) off-diagonal, N(0, 2/dy) diagonal): (||v||^2 I + v v^T) / dy
    cov = (v @ v * np.eye(2) + np.outer(v, v)) / 2 * p1.sigma_H**2
    np.testing.assert_allclose(np.cov(H.T), cov, atol=0.01)
    J = np.array([p1.jvp_xy(x, y, v, rng) for _ in range(n)])
    np.testing.assert_allclose(J.mean(0), -B.T @ v, atol=0.02)
    np.testing.assert_allclose(J.var(0), p1.sigma_H**2 * (v @ v) / 2, rtol=0.05)
    G = np.array([p1.grad_yG(x, y, rng) for _ in range(n)])
    np.testing.assert_allclose(G.mean(0), A @ y - B @ x, atol=0.01)
    np.testing.assert_allclose(G.var(0), p1.sigma_g**2, rtol=0.05)


def test_hyper_cleaning_references():
    prob = hyper_cleaning(seed=0, n_max=200, batch=16, reg=0.05)
    x = np.random.default_rng(1).standard_normal(prob.dx)
    ys = prob.y_star(x)
    rng = np.random.default_rng(2)
    # full-batch lower gradient vanishes at y*; the sampled one is unbiased (mean over many batches)
    assert np.linalg.norm(prob._g_np(x, ys)[1]) < 1e-7
    g = np.mean([prob.grad_yG(x, ys, rng) for _ in range(3000)], axis=0)
    assert np.linalg.norm(g) < 0.05 * np.linalg.norm(prob._g_np(x, np.zeros(prob.dy))[1])
    # grad Phi against finite differences of Phi (L-BFGS solves)
    gphi = prob.grad(x)
    for i in (0, 7):
        e = np.zeros(prob.dx)
        e[i] = 1e-3
        fd = (float(prob.f(x + e)) - float(prob.f(x - e))) / 2e-3
        assert fd == pytest.approx(gphi[i], rel=1e-2, abs=1e-8)  # FD step 1e-3 on L-BFGS solves
    # HVP and JVP: unbiased estimates of the exact ones
    v = rng.standard_normal(prob.dy)
    hv = np.mean([prob.hvp_yy(x, ys, v, rng) for _ in range(3000)], axis=0)
    np.testing.assert_allclose(hv, prob._hvp_full_np(x, ys, v), atol=0.05 * np.abs(hv).max())


def test_theory_parameters_formulas():
    p = theory_parameters(0.5, L0=9.0, L1=1.0, mu=1.0, l_g1=10.0, sigma2_h=0.72, sigma_g=0.3)
    omb = 0.2 * 0.25 / 0.72
    assert p["beta"] == pytest.approx(1 - omb)
    assert p["eta"] == pytest.approx(0.5 * 0.5 * omb / 9.0)
    assert p["period"] == math.ceil(0.25 / (10 * p["eta"]))
    assert p["gamma"] == pytest.approx(0.002 * 0.25 / 0.09)
    assert p["n_lower"] == math.ceil(3 / p["gamma"]) and p["refine_steps"] == 4 * p["n_lower"]
    assert p["nu"] == pytest.approx(0.05) and p["max_iter"] == math.ceil(2e4 * 16)
    with pytest.raises(ValueError, match="eps"):
        theory_parameters(1.5, L0=9.0, L1=1.0, mu=1.0, l_g1=10.0, sigma2_h=0.72, sigma_g=0.3)


def test_borep_reaches_eps_and_counts_calls(p1):
    x0 = np.array([1.5, -1.5, 2.0])
    r = bo_rep_theory(p1, x0, 1.0, record_every=50)
    assert r.status == "converged" and r.success
    tr = r.trace
    assert tr.avg_grad_norm[-1] <= 1.0 < tr.avg_grad_norm[0]
    total = tr.calls_grad_f + tr.calls_grad_g + tr.calls_hvp + tr.calls_jvp
    np.testing.assert_array_equal(tr.calls, total)
    assert r.oracle_calls["total"] == tr.calls[-1] == r.njev + r.nhev
    assert r.oracle_calls["grad_f"] == r.oracle_calls["hvp"] == r.oracle_calls["jvp"] == r.nit
    assert len({len(v) for v in tr.values()}) == 1


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_numba_path_equals_generic_path(method, p1):
    x0 = np.array([1.0, -0.5, 0.3])
    kw = {"max_iter": 60, "record_every": 7, "seed": 3}
    if method is bo_rep:
        kw.update(track_every_iter=True, n_lower=4, period=3)
    fast = method(p1, x0, use_numba=True, **kw)
    slow = method(p1, x0, use_numba=False, **kw)
    assert fast.numba and not slow.numba
    np.testing.assert_allclose(fast.x, slow.x, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast.y, slow.y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast.trace.grad_norm, slow.trace.grad_norm, rtol=1e-9)
    np.testing.assert_allclose(fast.trace.z_err_ystar, slow.trace.z_err_ystar, rtol=1e-9)
    np.testing.assert_array_equal(fast.trace.calls, slow.trace.calls)
    assert fast.oracle_calls == slow.oracle_calls


def test_numba_path_equals_generic_path_large_d():
    # d = 80: the kernels' products go through BLAS gemv (n m >= 4096) instead of the scalar loop
    prob = bilevel_p1(80, 80, seed=1, sigma=0.2)
    x0 = np.random.default_rng(0).standard_normal(80)
    kw = {"max_iter": 40, "record_every": 10, "seed": 3, "track_every_iter": True, "n_lower": 3, "period": 4}
    fast = bo_rep(prob, x0, use_numba=True, **kw)
    slow = bo_rep(prob, x0, use_numba=False, **kw)
    assert fast.numba and not slow.numba
    np.testing.assert_allclose(fast.x, slow.x, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast.y, slow.y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast.trace.grad_norm, slow.trace.grad_norm, rtol=1e-9)


def test_trace_errors_match_closed_forms(p1):
    # E3 bounds ||z - z*(x, y*(x))|| (the exact hypergradient's auxiliary), not ||z - z*(x, y)|| at the stale y
    r = bo_rep(p1, np.array([1.0, -0.5, 0.3]), max_iter=23, period=5, n_lower=2, record_every=10, seed=2)
    d = p1.data(r.x)
    A, M, c = (np.asarray(d[k]) for k in ("A", "M", "c"))
    tr = r.trace
    assert tr.iteration[-1] == 23
    np.testing.assert_allclose(tr.y_err[-1], np.linalg.norm(r.y - M @ r.x), rtol=1e-12)
    np.testing.assert_allclose(tr.z_err[-1], np.linalg.norm(r.z - np.linalg.solve(A, np.tanh(r.y - c))), rtol=1e-12)
    np.testing.assert_allclose(tr.z_err_ystar[-1], np.linalg.norm(r.z - np.linalg.solve(A, np.tanh(M @ r.x - c))),
                               rtol=1e-12)
    assert tr.z_err_ystar[-1] != pytest.approx(tr.z_err[-1], rel=1e-6)  # y is stale: the two references differ


def test_borep_neumann_and_epoch_refinement_paths(p1):
    x0 = np.array([1.0, -0.5, 0.3])
    for kw in ({"hypergrad": "neumann", "neumann_q": 5}, {"refine": "epoch", "epochs": 2}, {"refine": None}):
        a = bo_rep(p1, x0, max_iter=30, use_numba=True, **kw)
        b = bo_rep(p1, x0, max_iter=30, use_numba=False, **kw)
        np.testing.assert_allclose(a.x, b.x, rtol=1e-10)
        assert a.status == "max_iter"
    r = bo_rep(p1, x0, max_iter=30, hypergrad="neumann", neumann_q=5)
    assert r.oracle_calls["hvp"] == 5 * 30


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_array_api_strict_same_numbers(method, p1):
    x0 = np.array([1.0, -0.5, 0.3])
    ref = method(p1, x0, max_iter=25, record_every=5, use_numba=False)
    res = method(p1, xps.asarray(x0), max_iter=25, record_every=5)
    assert type(res.x).__module__.startswith("array_api_strict") and not res.numba
    np.testing.assert_allclose(np.asarray(res.x), ref.x, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.trace.grad_norm, ref.trace.grad_norm, rtol=1e-12)


def test_hyper_cleaning_runs_generic():
    prob = hyper_cleaning(seed=0, n_max=200, batch=16, reg=0.05)
    x0 = np.zeros(prob.dx)
    r = bo_rep(prob, x0, eta=0.5, max_iter=20, record_every=10, n_lower=3, gamma=0.5)
    assert not r.numba and r.status == "max_iter" and np.all(np.isfinite(r.trace.fun))
    assert np.all(np.isfinite(r.trace.z_err)) and np.all(np.isnan(r.trace.z_err_ystar))  # no second CG solve
    res = stocbio(prob, xps.asarray(x0), max_iter=4, record_every=2, lr=1.0, inner_steps=2, alpha=0.5)
    assert np.all(np.isfinite(res.trace.grad_norm))


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.__name__)
def test_overflow_ends_diverged(method):
    prob = bilevel_p2(2, 2, seed=0, sigma=0.1)
    kw = {"normalize": False, "eta": 0.3} if method is bo_rep else {"alpha": 0.3} if method is ttsa else {"lr": 0.3}
    r = method(prob, 8.0 * np.ones(2), max_iter=200, record_every=20, **kw)
    assert r.status == "diverged" and not r.success and "diverged" in r.message
    ok = bo_rep(prob, 8.0 * np.ones(2), eta=0.05, max_iter=300, record_every=20)
    assert ok.status == "max_iter" and np.all(np.isfinite(ok.x))


def test_bad_input(p1):
    x0 = np.zeros(3)
    with pytest.raises(ValueError, match="x0"):
        bo_rep(p1, np.zeros(4))
    with pytest.raises(ValueError, match="x0"):
        soba(p1, np.array([np.nan, 0, 0]))
    with pytest.raises(ValueError, match="beta"):
        bo_rep(p1, x0, beta=1.0)
    with pytest.raises(ValueError, match="eta"):
        bo_rep(p1, x0, eta=-1)
    with pytest.raises(ValueError, match="period"):
        bo_rep(p1, x0, period=0)
    with pytest.raises(ValueError, match="radius"):
        bo_rep(p1, x0, radius=0)
    with pytest.raises(ValueError, match="neumann_c"):
        bo_rep(p1, x0, hypergrad="neumann", neumann_c=0)
    with pytest.raises(ValueError, match="y0"):
        ma_soba(p1, x0, y0=np.zeros(5))
    with pytest.raises(TypeError, match="bilevel oracles"):
        bo_rep(object(), x0)
    with pytest.warns(RuntimeWarning, match="gamma"):
        bo_rep(p1, x0, gamma=0.5, max_iter=2)
    with pytest.raises(ValueError, match="A must be"):
        from optlab.problems.bilevel import QuadraticLowerBilevel

        QuadraticLowerBilevel(-np.eye(2), np.eye(2), np.zeros(2))


def test_random_streams_are_per_oracle(p1):
    x0 = np.array([1.0, -0.5, 0.3])
    a = bo_rep(p1, x0, max_iter=20, seed=5, hypergrad="z")
    b = bo_rep(p1, x0, max_iter=20, seed=5, hypergrad="z")
    np.testing.assert_array_equal(a.x, b.x)
    c = bo_rep(p1, x0, max_iter=20, seed=6)
    assert not np.allclose(a.x, c.x)


# -- hyper-representation (synthetic tasks, features (W a)^2, ridge heads) ----------------------------------------


@pytest.fixture(scope="module")
def hr():
    """A small instance and its exact twin (same data: the oracle options do not touch the draws)."""
    from optlab.problems.bilevel import hyper_representation

    kw = {"dim_in": 4, "n_features": 3, "n_support": 6, "n_query": 5, "seed": 3}
    return hyper_representation(4, batch=3, task_batch=2, **kw), hyper_representation(4, batch=None, task_batch=None,
                                                                                       **kw)


def test_hyperrep_closed_forms_against_finite_differences(hr):
    noisy, exact = hr
    rng = np.random.default_rng(0)
    x = exact.x_init() + 0.3 * rng.standard_normal(exact.dx)
    y, v = rng.standard_normal(exact.dy), rng.standard_normal(exact.dy)
    assert (exact.dx, exact.dy) == (12, 12) and np.array_equal(noisy.x_init(), exact.x_init())
    # y* solves the lower level; grad Phi matches central differences of Phi (closed-form y* inside)
    ys = exact.y_star(x)
    assert np.linalg.norm(exact.grad_yG(x, ys, rng)) < 1e-12 * max(1.0, np.linalg.norm(ys))
    np.testing.assert_allclose(exact.grad(x), _fd(exact.f, x, 1e-5), rtol=1e-6, atol=1e-9)
    # HVP_yy and JVP_xy against central differences of the exact grad_y g (g is quadratic in y: exact up to rounding)
    np.testing.assert_allclose(exact.hvp_yy(x, y, v, rng),
                               (exact.lower_grad_y(x, y + 1e-4 * v) - exact.lower_grad_y(x, y - 1e-4 * v)) / 2e-4,
                               rtol=1e-7, atol=1e-9)
    cross = np.array([_fd(lambda xx, i=i: exact.lower_grad_y(xx, y)[i], x, 1e-5) for i in range(exact.dy)])  # (dy, dx)
    np.testing.assert_allclose(exact.jvp_xy(x, y, v, rng), cross.T @ v, rtol=1e-6, atol=1e-8)
    # grad F against the derivative of f; z* solves Hess_yy g z = grad_y f
    gx, gy = exact.grad_F(x, y, rng)
    np.testing.assert_allclose(gx, _fd(lambda xx: exact.upper_value(xx, y), x, 1e-5), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gy, _fd(lambda yy: exact.upper_value(x, yy), y, 1e-5), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(exact.hvp_yy(x, y, exact.z_star(x, y), rng), gy, rtol=1e-10, atol=1e-12)
    # the noisy twin has the same measurements
    np.testing.assert_allclose(noisy.grad(x), exact.grad(x), rtol=1e-12)
    assert noisy.f(x) == pytest.approx(float(exact.f(x)), rel=1e-12)


def test_hyperrep_oracles_unbiased(hr):
    noisy, exact = hr
    rng = np.random.default_rng(1)
    x = exact.x_init() + 0.3 * rng.standard_normal(exact.dx)
    y, v = rng.standard_normal(exact.dy), rng.standard_normal(exact.dy)
    n = 4000
    draws = {
        "grad_F": (lambda: np.concatenate(noisy.grad_F(x, y, rng)), np.concatenate(exact.grad_F(x, y, rng))),
        "grad_yG": (lambda: noisy.grad_yG(x, y, rng), exact.grad_yG(x, y, rng)),
        "hvp_yy": (lambda: noisy.hvp_yy(x, y, v, rng), exact.hvp_yy(x, y, v, rng)),
        "jvp_xy": (lambda: noisy.jvp_xy(x, y, v, rng), exact.jvp_xy(x, y, v, rng)),
    }
    for name, (draw, ref) in draws.items():
        S = np.array([draw() for _ in range(n)])
        se = S.std(0) / math.sqrt(n)
        assert S.std(0).max() > 1e-3 * np.abs(ref).max(), name  # the oracle is noisy...
        assert np.all(np.abs(S.mean(0) - ref) <= 5 * se + 1e-12), name  # ...and unbiased (5 standard errors)


def test_hyperrep_array_api_strict_and_bad_input(hr):
    from optlab.problems.bilevel import HyperRepresentation, hyper_representation

    noisy, _ = hr
    x = noisy.x_init()
    y, v = np.linspace(-1, 1, noisy.dy), np.linspace(1, 2, noisy.dy)
    xs, ys_, vs = (xps.asarray(a) for a in (x, y, v))
    np.testing.assert_allclose(np.asarray(noisy.grad(xs)), noisy.grad(x), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(noisy.y_star(xs)), noisy.y_star(x), rtol=1e-12)
    for name in ("grad_yG", "hvp_yy", "jvp_xy"):
        args = (y,) if name == "grad_yG" else (y, v)
        sargs = (ys_,) if name == "grad_yG" else (ys_, vs)
        ref = getattr(noisy, name)(x, *args, np.random.default_rng(5))
        out = getattr(noisy, name)(xs, *sargs, np.random.default_rng(5))  # same stream: same numbers
        np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-12, atol=1e-14)
    r = bo_rep(noisy, xs, eta=0.01, max_iter=6, record_every=3, gamma=0.5 / noisy.constants["l_g1"])
    assert type(r.x).__module__.startswith("array_api_strict") and np.all(np.isfinite(r.trace.grad_norm))
    for kw, arg in (({"n_tasks": 0}, "n_tasks"), ({"mu": 0.0}, "mu"), ({"rho": -1.0}, "rho"), ({"batch": 0}, "batch"),
                    ({"task_batch": 2.5}, "task_batch"), ({"dim_in": -3}, "dim_in"),
                    ({"label_noise": float("nan")}, "label_noise")):
        with pytest.raises(ValueError, match=arg):
            hyper_representation(**{"n_tasks": 2, **kw})
    S, Q = np.zeros((2, 3, 4)), np.zeros((2, 5, 4))
    with pytest.raises(ValueError, match="b must"):
        HyperRepresentation(S, np.zeros((2, 4)), Q, np.zeros((2, 5)), n_features=2)
    with pytest.raises(ValueError, match="x0"):
        HyperRepresentation(S, np.zeros((2, 3)), Q, np.zeros((2, 5)), n_features=2, x0=np.zeros(3))
