"""Entropic OT: Sinkhorn (log, kernel), SNS, Sinkhorn-Newton and dense Newton against references.

References: POT's ``ot.sinkhorn`` (same plan), the LP optimum by HiGHS, the 1-D closed forms
of ``W_p^p``, the Gaussian ``W2``, the Hungarian assignment, and the generic array-API path
under ``array_api_strict`` (the Numba kernels must give the same numbers).
"""

import math

import array_api_strict as xs
import numpy as np
import ot
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab.ot import dense_newton, primal_value, round_to_feasible, sinkhorn, sinkhorn_newton, sns
from optlab.problems.ot import (
    digits_transport,
    gaussian_grid,
    lp_optimum,
    one_dimensional,
    planted_permutation,
    random_assignment,
    vertex_gap,
    wasserstein_1d_exact,
)


def _instance(n=30, m=25, seed=0):
    rng = np.random.default_rng(seed)
    C = rng.random((n, m))
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    return a / a.sum(), b / b.sum(), C


def _marginal_error(P, a, b):
    return np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum()


# ---------------------------------------------------------------- agreement with POT


@pytest.mark.parametrize("method", ["log", "kernel"])
@pytest.mark.parametrize("reg", [0.05, 0.01])
def test_plan_matches_pot_sinkhorn(method, reg):
    a, b, C = _instance()
    res = sinkhorn(a, b, C, reg, method=method, tol=1e-14, max_iter=20000)
    assert res.status == "converged" and res.success
    P_pot = ot.sinkhorn(a, b, C, reg, stopThr=1e-15, numItermax=200000)
    assert np.abs(res.plan - P_pot).max() <= 1e-8 * P_pot.max()
    assert abs(res.cost - float((C * P_pot).sum())) <= 1e-10


def test_plan_matches_pot_sinkhorn_log_small_reg():
    a, b, C = _instance(40, 40, seed=3)
    reg = 2e-3  # exp(-C/reg) underflows in kernel mode: POT's log-domain solver is the peer
    res = sinkhorn(a, b, C, reg, tol=1e-13, max_iter=200000)
    P_pot = ot.sinkhorn(a, b, C, reg, method="sinkhorn_log", stopThr=1e-14, numItermax=200000)
    assert np.abs(res.plan - P_pot).max() <= 1e-8 * P_pot.max()


def test_log_and_kernel_iterates_agree():
    a, b, C = _instance()
    r1 = sinkhorn(a, b, C, 0.05, method="log", tol=0.0, max_iter=25)
    r2 = sinkhorn(a, b, C, 0.05, method="kernel", tol=0.0, max_iter=25)
    np.testing.assert_allclose(r1.trace.grad_norm, r2.trace.grad_norm, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(r1.trace.fun, r2.trace.fun, rtol=1e-12)


def test_trace_error_is_the_returned_plans_error():
    a, b, C = _instance()
    for method in ("log", "kernel"):
        res = sinkhorn(a, b, C, 0.05, method=method, tol=0.0, max_iter=7)
        assert res.nit == 7 and res.status == "max_iter"
        assert res.trace.grad_norm[-1] == pytest.approx(_marginal_error(res.plan, a, b), rel=1e-9)
        lengths = {len(v) for v in res.trace.values()}
        assert lengths == {8}


# ---------------------------------------------------------------- generic path == Numba path


@pytest.mark.parametrize("method", ["log", "kernel"])
def test_generic_path_under_array_api_strict(method):
    a, b, C = _instance()
    ref = sinkhorn(a, b, C, 0.02, method=method, tol=1e-12, max_iter=5000)
    res = sinkhorn(xs.asarray(a), xs.asarray(b), xs.asarray(C), 0.02, method=method, tol=1e-12, max_iter=5000)
    assert isinstance(res.plan, type(xs.asarray(1.0)))
    assert res.nit == ref.nit
    np.testing.assert_allclose(np.asarray(res.plan), ref.plan, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(res.trace.grad_norm, ref.trace.grad_norm, rtol=1e-6, atol=1e-14)


def test_sns_generic_path_matches_numba():
    a, b, C = _instance(24, 20, seed=1)
    ref = sns(a, b, C, 1 / 200.0, tol=1e-12)
    res = sns(xs.asarray(a), xs.asarray(b), xs.asarray(C), 1 / 200.0, tol=1e-12)
    assert res.status == ref.status == "converged"
    np.testing.assert_array_equal(res.trace.nnz[20:25], ref.trace.nnz[20:25])
    np.testing.assert_allclose(np.asarray(res.plan), ref.plan, atol=1e-13)
    d = dense_newton(xs.asarray(a), xs.asarray(b), xs.asarray(C), 1 / 200.0)
    assert float(d.fun) == pytest.approx(ref.fun, abs=1e-13)


def test_float32_keeps_dtype():
    a, b, C = (v.astype(np.float32) for v in _instance())
    for res in (sinkhorn(a, b, C, 0.05, tol=1e-5), sinkhorn(a, b, C, 0.05, method="kernel", tol=1e-5),
                sns(a, b, C, 0.05, tol=1e-6)):
        assert res.plan.dtype == np.float32 and res.x.dtype == np.float32
        assert res.success
        assert _marginal_error(res.plan.astype(np.float64), a, b) < 1e-5


# ---------------------------------------------------------------- references with closed forms


def test_lp_optimum_is_the_limit_and_an_lower_bound():
    a, b, C = _instance(6, 5, seed=2)
    lp, P_lp = lp_optimum(a, b, C)
    assert lp == pytest.approx(ot.emd2(a, b, C), abs=1e-12)
    n, m = C.shape
    gaps = []
    for eta in (10.0, 100.0, 1000.0):
        res = dense_newton(a, b, C, 1 / eta)
        bias = res.cost - lp
        assert -1e-12 <= bias <= math.log(n * m) / eta + 1e-12
        gaps.append(bias)
    assert gaps[0] > gaps[1] > gaps[2]
    assert np.abs(res.plan - P_lp).max() < 1e-3  # unique LP vertex here: P_eta -> P_LP


def test_assignment_cost_within_entropic_bias():
    prob = random_assignment(60, seed=1)
    eta = 1200.0
    res = sns(prob.a, prob.b, prob.C, 1 / eta)
    assert res.success
    assert 0.0 <= res.cost - prob.ot_value <= 2 * math.log(60) / eta


@pytest.mark.parametrize("p", [1.0, 2.0])
def test_one_dimensional_closed_form(p):
    prob = one_dimensional(40, 30, p=p, seed=4)
    x, y = prob.points
    if p == 1.0:
        assert prob.ot_value == pytest.approx(ot.wasserstein_1d(x, y, prob.a, prob.b, p=1), rel=1e-12)
    assert prob.ot_value == pytest.approx(ot.emd2(prob.a, prob.b, prob.C), rel=1e-9)
    eta = 2000.0
    res = dense_newton(prob.a, prob.b, prob.C, 1 / eta)  # L1 is degenerate: sparse Newton needs a larger lambda
    assert res.success
    assert -1e-12 <= res.cost - prob.ot_value <= prob.entropic_bias_bound(1 / eta)


def test_equal_size_samples_sorted_matching():
    rng = np.random.default_rng(0)
    x, y = rng.random(9), rng.random(9)
    w = np.full(9, 1 / 9)
    assert wasserstein_1d_exact(x, w, y, w, 2.0) == pytest.approx(np.mean((np.sort(x) - np.sort(y)) ** 2))


def test_gaussian_w2_loose():
    prob = gaussian_grid(150)
    res = sinkhorn(prob.a, prob.b, prob.C, 0.05, tol=1e-9, max_iter=20000)
    assert res.success
    assert abs(prob.ot_value - prob.constants["w2sq"]) < 0.02 * prob.constants["w2sq"]
    assert 0 <= res.cost - prob.ot_value <= prob.entropic_bias_bound(0.05)


def test_planted_permutation_gap():
    prob = planted_permutation(12, seed=3)
    assert prob.delta >= 0.5 / 12 - 1e-15
    assert vertex_gap(prob.C, prob.perm) == prob.delta


def test_digits_costs():
    for cost in ("sqeuclidean", "l1"):
        prob = digits_transport(0, 1, size=12, cost=cost)
        assert prob.a.min() > 0 and prob.b.min() > 0
        assert prob.a.sum() == pytest.approx(1) and prob.C.shape == (prob.a.size, prob.b.size)
        res = sinkhorn(prob.a, prob.b, prob.C, 0.05, tol=1e-9, max_iter=5000)
        assert res.success
        assert res.cost >= ot.emd2(prob.a, prob.b, prob.C) - 1e-9


# ---------------------------------------------------------------- Newton methods


def test_sns_reaches_reference_value_and_primal_bound():
    prob = random_assignment(120, seed=0)
    eta = 1200.0
    ref = dense_newton(prob.a, prob.b, prob.C, 1 / eta)
    res = sns(prob.a, prob.b, prob.C, 1 / eta, f_star=ref.fun)
    assert res.success and res.stop in ("tol", "float_floor")
    assert res.nit <= 20 + 50
    assert abs(res.fun - ref.fun) <= 1e-13 * max(1.0, abs(ref.fun))
    upper = primal_value(prob.C, round_to_feasible(ref.plan, prob.a, prob.b), eta)
    assert ref.fun <= upper + 1e-14 and upper - ref.fun < 1e-10
    tr = res.trace
    assert np.all(tr.stage[:20] == 0) and np.all(tr.stage[21:] >= 1)
    assert np.all(tr.nnz[21:] >= 2 * 120)  # about 3n entries of P kept, ties included
    assert np.nanmax(tr.gap[20:]) < 1e-3 and tr.gap[-1] <= 1e-13


def test_sns_diagonal_only_is_slow():
    prob = random_assignment(80, seed=2)
    res = sns(prob.a, prob.b, prob.C, 1 / 1200.0, density=1 / 160, max_iter=70)
    assert res.status == "max_iter" and not res.success
    assert np.all(res.trace.nnz[21:] == 0)


def test_sinkhorn_newton_converges_at_moderate_reg():
    a, b, C = _instance(20, 20, seed=5)
    res = sinkhorn_newton(a, b, C, 0.1, tol=1e-12)
    assert res.success and res.nit < 30
    ref = dense_newton(a, b, C, 0.1)
    assert res.fun == pytest.approx(ref.fun, abs=1e-13)


def test_sinkhorn_newton_full_steps_can_diverge():
    a, b, C = _instance(20, 20, seed=5)
    res = sinkhorn_newton(a, b, C, 0.01)
    assert res.status in ("diverged", "max_iter") and not res.success


def test_zero_mass_points_are_reinserted():
    a, b, C = _instance(12, 10, seed=6)
    a[[2, 7]] = 0.0
    a /= a.sum()
    b[4] = 0.0
    b /= b.sum()
    for res in (sinkhorn(a, b, C, 0.05, tol=1e-12, max_iter=5000), sns(a, b, C, 0.05)):
        assert res.plan.shape == C.shape
        assert np.all(res.plan[[2, 7]] == 0) and np.all(res.plan[:, 4] == 0)
        assert np.isneginf(res.potentials[0][2]) and np.isneginf(res.potentials[1][4])
        assert _marginal_error(res.plan, a, b) < 1e-10
        keep_r, keep_c = a > 0, b > 0
        sub = sinkhorn(a[keep_r], b[keep_c], C[keep_r][:, keep_c], 0.05, tol=1e-12, max_iter=5000)
        np.testing.assert_allclose(res.plan[keep_r][:, keep_c], sub.plan, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 12), m=st.integers(2, 12), seed=st.integers(0, 10_000),
       reg=st.sampled_from([0.5, 0.05, 0.01]))
def test_property_feasible_plan_and_weak_duality(n, m, seed, reg):
    a, b, C = _instance(n, m, seed)
    res = sns(a, b, C, reg, tol=1e-11)
    assert res.success
    assert np.all(res.plan >= 0)
    assert _marginal_error(res.plan, a, b) <= 1e-10
    P = round_to_feasible(res.plan, a, b)
    assert _marginal_error(P, a, b) < 1e-14
    assert res.fun <= primal_value(C, P, 1 / reg) + 1e-12  # dual <= primal (weak duality)


# ---------------------------------------------------------------- statuses and bad input


def test_status_and_callback():
    a, b, C = _instance()
    res = sinkhorn(a, b, C, 0.01, tol=1e-14, max_iter=5)
    assert res.status == "max_iter" and "max_iter" in res.message and not res.success

    def stop(r):
        if r.nit == 3:
            raise StopIteration

    res = sinkhorn(a, b, C, 0.01, max_iter=100, callback=stop)
    assert res.status == "callback" and res.nit == 3
    res = sns(a, b, C, 0.01, callback=stop)
    assert res.status == "callback" and res.stop == "callback"


def test_kernel_mode_underflow_is_an_error():
    a, b, C = _instance()
    with pytest.raises(ValueError, match="method='log'"):
        sinkhorn(a, b, C + 10.0, 1e-3, method="kernel")


@pytest.mark.parametrize("fn", [sinkhorn, sns, dense_newton, sinkhorn_newton])
def test_bad_inputs(fn):
    a, b, C = _instance(5, 4)
    with pytest.raises(ValueError, match="C must be 2-dimensional"):
        fn(a, b, C.ravel(), 0.1)
    with pytest.raises(ValueError, match="a must have length 5"):
        fn(a[:3], b, C, 0.1)
    bad = C.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="C contains NaN"):
        fn(a, b, bad, 0.1)
    with pytest.raises(ValueError, match="b has negative"):
        fn(a, -b, C, 0.1)
    with pytest.raises(ValueError, match="same total mass"):
        fn(a, 2 * b, C, 0.1)
    with pytest.raises(ValueError, match="reg must be positive"):
        fn(a, b, C, 0.0)
    with pytest.raises(TypeError, match="reg must be a positive number"):
        fn(a, b, C, "x")
    with pytest.raises(ValueError, match="a is all zero"):
        fn(np.zeros(5), b, C, 0.1)


def test_bad_options():
    a, b, C = _instance(5, 4)
    with pytest.raises(ValueError, match="method must be"):
        sinkhorn(a, b, C, 0.1, method="greenkhorn")
    with pytest.raises(ValueError, match="tol must be"):
        sinkhorn(a, b, C, 0.1, tol=-1)
    with pytest.raises(ValueError, match="density must be positive"):
        sns(a, b, C, 0.1, density=0)
    with pytest.raises(ValueError, match="n_sinkhorn must be"):
        sns(a, b, C, 0.1, n_sinkhorn=-1)
    with pytest.raises(TypeError, match="same array library"):
        sinkhorn(xs.asarray(a), b, C, 0.1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n,m", [(1, 1), (3, 5), (7, 33), (8, 32), (9, 64), (17, 70), (40, 97)])
def test_kernel_sweep_matches_numpy(n, m, dtype):
    """The kernel-mode sweep (eight-row blocks, a padded last block, 32-column chunks with a
    tail) against the two NumPy half-steps, on shapes around every block and chunk edge."""
    from optlab.ot._kernels import kernel_sweep

    rng = np.random.default_rng(n * 100 + m)
    K = np.exp(-rng.random((n, m)) / 0.3).astype(dtype)
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    a, b = a / a.sum(), b / b.sum()
    u0, v0 = rng.random(n) + 0.5, rng.random(m) + 0.5
    K64 = K.astype(np.float64)
    u_ref = a / (K64 @ v0)
    v_ref = b / (K64.T @ u_ref)
    P0 = u0[:, None] * K64 * v0[None, :]
    for col_err in (False, True):
        u, v = u0.copy(), v0.copy()
        err, mass = kernel_sweep(K, u, v, a, b, np.empty((2, m)), col_err)
        np.testing.assert_allclose(u, u_ref, rtol=1e-13)
        np.testing.assert_allclose(v, v_ref, rtol=1e-13)
        row_err = np.abs(P0.sum(1) - a).sum()
        want = row_err + (np.abs(P0.sum(0) - b).sum() if col_err else 0.0)
        assert err == pytest.approx(want, rel=1e-12)
        assert mass == pytest.approx(P0.sum(), rel=1e-13)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n,m", [(3, 1), (5, 255), (4, 256), (6, 257), (3, 600)])
def test_log_sweep_steady_state_matches_numpy(n, m, dtype):
    """The steady-state log-domain sweep (256-column chunks, the previous row added to the column sums
    during the next one, a tail past the last full chunk) against the two half-steps in NumPy, on shapes
    around the chunk edges."""
    from scipy.special import logsumexp

    from optlab.ot._kernels import log_sweep

    rng = np.random.default_rng(n * 1000 + m)
    C = rng.random((n, m)).astype(dtype)
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    a, b = a / a.sum(), b / b.sum()
    eta = 40.0
    x, y = np.zeros(n), np.zeros(m)
    work = np.empty((4, m))
    log_sweep(C, eta, x, y, a, np.log(a), b, np.log(b), work, True)  # balance once (the first-sweep path)
    x += 0.01 * rng.standard_normal(n)  # a starting point off the fixed point, so the sweep moves
    C64 = C.astype(np.float64)
    P0 = np.exp(eta * (x[:, None] + y[None, :] - C64) - 1.0)
    x_ref = (np.log(a) + 1.0 - logsumexp(eta * (y[None, :] - C64), axis=1)) / eta
    y_ref = (np.log(b) + 1.0 - logsumexp(eta * (x_ref[:, None] - C64), axis=0)) / eta
    err, mass, nfb = log_sweep(C, eta, x, y, a, np.log(a), b, np.log(b), work, False)
    assert nfb == 0
    np.testing.assert_allclose(x, x_ref, rtol=0, atol=1e-13)
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-13)
    assert err == pytest.approx(np.abs(P0.sum(1) - a).sum(), rel=1e-10)
    assert mass == pytest.approx(P0.sum(), rel=1e-12)


def test_warm_up_compiles_every_timed_kernel():
    """``optlab.ot.warm_up`` leaves each kernel of Sinkhorn (both methods) and SNS compiled for the dtype (in a
    fresh process, so that no other test has compiled them first)."""
    import subprocess
    import sys

    code = """
import numpy as np
from numba import types
from optlab.ot import _kernels, warm_up
warm_up(np.float32)
for name in ("log_sweep", "kernel_sweep", "plan_pass", "collect_above", "csr_from_triplets", "pcg"):
    sigs = getattr(_kernels, name).signatures
    assert sigs, name
    if name in ("log_sweep", "kernel_sweep", "plan_pass"):  # the ones that read C or K
        assert any(isinstance(t, types.Array) and t.dtype == types.float32 for sig in sigs for t in sig), name
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_shifted_log_sweep_matches_exact_and_falls_back():
    from optlab.ot._kernels import log_sweep

    a, b, C = _instance(40, 30, seed=7)
    eta = 300.0
    la, lb = np.log(a), np.log(b)
    x, y = np.zeros(40), np.zeros(30)
    work = np.empty((4, 30))
    log_sweep(C, eta, x, y, a, la, b, lb, work, True)  # balance the columns once
    for shift in (0.0, 900.0):  # 900/eta: every shifted row sum overflows -> exact fallback
        x1, y1, x2, y2 = x + shift / eta, y.copy(), x + shift / eta, y.copy()
        _, m1, _ = log_sweep(C, eta, x1, y1, a, la, b, lb, work, False)
        _, m2, _ = log_sweep(C, eta, x2, y2, a, la, b, lb, work, True)
        np.testing.assert_allclose(x1, x2, rtol=0, atol=1e-14)
        np.testing.assert_allclose(y1, y2, rtol=0, atol=1e-14)
        assert m1 == pytest.approx(m2, rel=1e-12)


def test_sweep_exp_accuracy_and_saturation():
    """The sweeps' exp (:func:`optlab.ot._kernels._exp_sk`): within 1 ulp of the long-double exp on
    [-708, 709]; above 709 it is inf (the shifted sweep then redoes the row exactly; a plan trial is
    rejected)."""
    from numba import njit

    from optlab.ot._kernels import _exp_sk

    @njit(fastmath={"contract"})
    def run(x, out):
        for i in range(x.size):
            out[i] = _exp_sk(x[i])

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-708.0, 709.0, 200_000), rng.uniform(-1.0, 1.0, 100_000),
                        [-708.0, -700.0, -1e-300, 0.0, 1e-300, 709.0]])
    out = np.empty_like(x)
    run(x, out)
    ref = np.exp(x.astype(np.longdouble))
    ulp = np.abs(out - ref) / np.spacing(ref.astype(np.float64))
    assert float(ulp.max()) <= 1.0
    big = np.array([709.5, 800.0, 1e6])
    run(big, out[:3])
    assert np.all(out[:3] == np.inf)
