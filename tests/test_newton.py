"""optlab.newton: the regularized solves, the search, statuses, and bad input."""

import array_api_strict as xps
import numpy as np
import pytest

from optlab.newton import adan, gns, gradient_method, inexact, newton, reg_newton
from optlab.newton._linalg import ZERO, Metric, RankOne, regularized_solve
from optlab.problems import Rosenbrock, quadratic

RNG = np.random.default_rng(0)


def spd(d, seed=0):
    A = np.random.default_rng(seed).standard_normal((d, d))
    return A @ A.T + d * np.eye(d)


@pytest.mark.parametrize("use_metric", [False, True])
def test_regularized_solve_shapes_agree_with_dense(use_metric):
    d = 6
    B = spd(d, 1) if use_metric else None
    g = RNG.standard_normal(d)
    met = Metric(B, g)
    Bm = B if use_metric else np.eye(d)
    v = RNG.standard_normal(d)
    lam = 0.7
    dense = -np.linalg.solve(2.5 * np.outer(v, v) + lam * Bm, g)
    np.testing.assert_allclose(regularized_solve(RankOne(2.5, v), lam, g, met), dense, rtol=1e-10)
    np.testing.assert_allclose(regularized_solve(2.5 * np.outer(v, v), lam, g, met), dense, rtol=1e-10)
    np.testing.assert_allclose(regularized_solve(ZERO, lam, g, met), -np.linalg.solve(Bm, g) / lam, rtol=1e-12)


def test_rank_one_and_zero_need_no_factorization(monkeypatch):
    import scipy.linalg

    def boom(*a, **k):
        raise AssertionError("factorized")

    monkeypatch.setattr(scipy.linalg, "cho_factor", boom)
    g = RNG.standard_normal(5)
    met = Metric(spd(5), g)
    assert regularized_solve(ZERO, 1.0, g, met) is not None
    assert regularized_solve(RankOne(1.0, g), 1.0, g, met) is not None


def test_failed_factorization_is_none_not_a_crash():
    g = np.ones(3)
    assert regularized_solve(-10.0 * np.eye(3), 1.0, g, Metric(None, g)) is None
    assert regularized_solve(-10.0 * np.eye(3), 1.0, xps.asarray(g), Metric(None, xps.asarray(g))) is None


def test_metric_norms_and_validation():
    B = spd(4)
    h = RNG.standard_normal(4)
    met = Metric(B, h)
    assert met.norm(h) == pytest.approx(np.sqrt(h @ B @ h))
    assert met.dual_norm(h) == pytest.approx(np.sqrt(h @ np.linalg.solve(B, h)))
    with pytest.raises(ValueError, match="shape"):
        Metric(np.eye(3), h)
    with pytest.raises(ValueError, match="symmetric"):
        Metric(B + np.triu(np.ones((4, 4)), 1), h)
    with pytest.raises(ValueError, match="positive definite"):
        Metric(-B, h)


def test_indefinite_hessian_trials_are_rejected_then_accepted():
    prob = quadratic(5, mu=0.5, L=1.0, seed=2)
    res = gns(prob, np.zeros(5), hessian=lambda p, x, g: -3.0 * np.eye(5), max_iter=200, gamma0=100.0, gtol=1e-6)
    assert res.status == "converged"
    assert res.trace.trials[1] > 1  # the first trials failed their factorization and were rejected


def test_exhausted_trials_end_with_search_failed():
    res = gns(Rosenbrock(2), np.array([-2.0, 2.0]), gamma0=1e12, max_trials=1)
    assert res.status == "search_failed" and not res.success and res.nit == 0
    assert "line search" in res.message


def test_gns_rosenbrock_and_lemma_fields():
    res = gns(Rosenbrock(2), np.array([-2.0, 2.0]), max_iter=200, gtol=None, ftol=1e-8)
    assert res.success and res.nit <= 80
    tr = res.trace
    assert np.all(np.diff(tr.fun) <= 1e3 * np.finfo(float).eps * np.abs(tr.fun[:-1]))  # monotone
    assert np.all(tr.decrease[1:] >= tr.lemma_rhs[1:] - 1e3 * np.finfo(float).eps * np.abs(tr.fun[:-1]))
    assert np.all(tr.step[1:] <= tr.gamma[1:] + 1e-8)
    assert tr.solves[-1] >= res.nit


def test_pure_newton_diverges_where_regn_converges():
    class SqrtOnePlusSq:
        name, dim, f_star, x_star = "sqrt(1+x^2)", 1, 1.0, np.zeros(1)

        def __init__(self):
            self.constants = {"L2": 1.5 * 0.8**2.5}

        def f(self, x):
            return np.sqrt(1.0 + x @ x)

        def grad(self, x):
            return x / np.sqrt(1.0 + x @ x)

        def hess(self, x):
            return np.eye(1) * (1.0 + x @ x) ** -1.5

        def value_and_grad(self, x):
            return self.f(x), self.grad(x)

        def gap(self, x):
            return self.f(x) - 1.0

    prob = SqrtOnePlusSq()
    bad = newton(prob, np.array([10.0]), max_iter=10)
    assert bad.status == "diverged"
    good = reg_newton(prob, np.array([10.0]), max_iter=500, gtol=1e-10)
    assert good.status == "converged"
    assert adan(prob, np.array([10.0]), max_iter=500).status == "converged"


def test_inexact_adds_the_controlled_error():
    prob = quadratic(4, mu=0.5, L=1.0, seed=3)
    x = RNG.standard_normal(4)
    g = prob.grad(x)
    H = inexact(2.0, 0.5)(prob, x, g)
    np.testing.assert_allclose(H - prob.hess(x), 2.0 * np.linalg.norm(g) ** 0.5 * np.eye(4), rtol=1e-12)
    with pytest.raises(ValueError, match="beta"):
        inexact(1.0, 2.0)


def test_gradient_method_in_metric_is_exact_for_metric_equal_hessian():
    prob = quadratic(6, mu=0.1, L=1.0, seed=4)
    res = gradient_method(prob, np.zeros(6), metric=prob.hess(np.zeros(6)), L0=1.0, max_iter=50)
    assert res.success and res.nit <= 3


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"gamma0": 0.0}, "gamma0"), ({"max_trials": 0}, "max_trials"), ({"hessian": "nope"}, "nope"),
    ({"hessian": 3}, "hessian"), ({"metric": np.eye(2)}, "metric"),
])
def test_gns_bad_options(kwargs, match):
    prob = quadratic(3, mu=0.5, L=1.0)
    with pytest.raises((ValueError, TypeError), match=match):
        gns(prob, np.zeros(3), **kwargs)


def test_reg_newton_needs_H_or_L2():
    prob = Rosenbrock(2)
    prob.constants.pop("L2", None)
    with pytest.raises(ValueError, match="L2"):
        reg_newton(prob, np.zeros(2))
    with pytest.raises(ValueError, match="H"):
        reg_newton(prob, np.zeros(2), H=-1.0)


def test_strict_metric_same_numbers():
    prob = quadratic(5, mu=0.2, L=1.0, seed=5)
    B = spd(5, 6)
    ref = gns(prob, np.ones(5), metric=B, max_iter=20, gtol=None)
    res = gns(prob, xps.asarray(np.ones(5)), metric=xps.asarray(B), max_iter=20, gtol=None)
    np.testing.assert_allclose(np.asarray(res.x), ref.x, rtol=1e-10, atol=1e-13)
    assert res.nit == ref.nit
