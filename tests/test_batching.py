"""Adaptive batch sizes (optlab.batching) and the stochastic problems they run on."""

import math
import warnings

import array_api_strict as xps
import numpy as np
import pytest

from optlab.batching import BATCH_RULES, TESTS, BatchStats, adagrad, adagrad_norm, batch_size_estimate, batch_statistics
from optlab.problems import Problem, quadratic
from optlab.problems.stochastic import (
    CosineQuadratic,
    cosine_quadratic,
    cosine_quadratic_affine,
    cosine_quadratic_anisotropic,
    digits_mlp,
    digits_softmax,
    logistic_finite_sum,
)


def _fd_grad(prob, x, h=1e-6, coords=None):
    coords = range(len(x)) if coords is None else coords
    out = []
    for j in coords:
        e = np.zeros_like(x)
        e[j] = h
        out.append((float(prob.f(x + e)) - float(prob.f(x - e))) / (2 * h))
    return np.array(out)


@pytest.fixture(scope="module")
def pa4():
    return logistic_finite_sum(n=500, d=8, seed=3)


# -- problems ------------------------------------------------------------------------------------------------------

def test_cosine_quadratic_closed_forms():
    p = cosine_quadratic(5)
    x = np.random.default_rng(0).standard_normal(5) * 2
    np.testing.assert_allclose(p.grad(x), _fd_grad(p, x), rtol=1e-7, atol=1e-8)
    assert p.constants["L"] == 3.0
    t = np.linspace(-3, 3, 200001)
    assert p.f_star == pytest.approx(5 * np.min(t**2 / 2 + 0.5 * np.cos(2 * t)), abs=1e-9)
    xs = np.full(5, 0.9477471335169904)  # root of t = sin(2t): a minimizer in every coordinate
    assert float(p.gap(xs)) == pytest.approx(0.0, abs=1e-12)
    assert np.linalg.norm(p.grad(xs)) < 1e-12
    assert p.noise_trace(x) == pytest.approx(5.0)


def test_noise_models_explicit_samples():
    rng = np.random.default_rng(1)
    x = np.linspace(-1, 1, 6)
    for p in (cosine_quadratic(6, sigma=2.0), cosine_quadratic_anisotropic(6), cosine_quadratic_affine(6, sigma0=0.3)):
        S = p.sample_grads(x, 200_000, rng)
        np.testing.assert_allclose(S.mean(axis=0), p.grad(x), atol=5 * math.sqrt(p.noise_trace(x) / 200_000))
        assert S.var(axis=0).sum() == pytest.approx(p.noise_trace(x), rel=0.02)
    gn = np.linalg.norm(cosine_quadratic(6).grad(x))
    assert cosine_quadratic_affine(6, sigma0=0.3, sigma1=1.0).noise_trace(x) == pytest.approx(6 * (0.3 + gn) ** 2)


def test_fast_sampler_has_the_law_of_explicit_batches():
    """Mean and total variance of a batch of b: fast mode against explicit samples (same law, 4000 draws each)."""
    p = cosine_quadratic_anisotropic(4, r_min=0.5, r_max=2.0)
    x = np.array([0.3, -1.0, 2.0, 0.1])
    b, n = 7, 4000
    rng = np.random.default_rng(2)
    fast = [p.sample_moments(x, b, rng) for _ in range(n)]
    expl = [p.sample_grads(x, b, rng) for _ in range(n)]
    gf = np.array([g for g, _ in fast])
    ge = np.array([S.mean(axis=0) for S in expl])
    vf = np.array([V for _, V in fast])
    ve = np.array([S.var(axis=0, ddof=1) for S in expl])
    np.testing.assert_allclose(gf.mean(0), ge.mean(0), atol=0.1)
    np.testing.assert_allclose(gf.var(0), p.r**2 / b, rtol=0.1)
    np.testing.assert_allclose(ge.var(0), p.r**2 / b, rtol=0.1)
    np.testing.assert_allclose(vf.mean(0), p.r**2, rtol=0.06)
    np.testing.assert_allclose(ve.mean(0), p.r**2, rtol=0.06)
    # var of chi2_{b-1}/(b-1) scaled: 2 r^4 / (b - 1)
    np.testing.assert_allclose(vf.var(0), 2 * p.r**4 / (b - 1), rtol=0.15)
    np.testing.assert_allclose(ve.var(0), 2 * p.r**4 / (b - 1), rtol=0.15)


def test_fast_sampler_huge_batch_is_cheap_and_exact():
    p = cosine_quadratic(20)
    x = np.ones(20)
    g, V = p.sample_moments(x, 10**10, np.random.default_rng(0))
    assert np.linalg.norm(g - p.grad(x)) < 10 * math.sqrt(20 / 1e10)
    np.testing.assert_allclose(V, 1.0, rtol=1e-3)


def test_logistic_finite_sum(pa4):
    x = np.random.default_rng(4).standard_normal(8)
    np.testing.assert_allclose(pa4.grad(x), _fd_grad(pa4, x), rtol=1e-6, atol=1e-8)
    S = pa4.grads_at(x, np.arange(pa4.n_samples))
    np.testing.assert_allclose(S.mean(axis=0), pa4.grad(x), rtol=1e-12, atol=1e-14)
    assert pa4.noise_trace(x) == pytest.approx(float(S.var(axis=0).sum()))
    big = logistic_finite_sum(n=100, d=3, seed=0, lam=0.0)
    assert np.all(np.isfinite(big.grads_at(np.full(3, 1e4), np.arange(100))))  # no overflow


@pytest.mark.parametrize("factory", [digits_softmax, digits_mlp])
def test_digits_models_per_sample_gradients(factory):
    p = factory(0)
    assert p.n_samples == 1438
    x = p.x_init() + 0.01 * np.random.default_rng(0).standard_normal(p.dim)
    idx = np.arange(p.n_samples)
    np.testing.assert_allclose(p.grads_at(x, idx).mean(axis=0), p.grad(x), rtol=1e-12, atol=1e-14)
    coords = [0, 5, p.dim - 1, p.dim // 2]
    np.testing.assert_allclose(p.grad(x)[coords], _fd_grad(p, x, coords=coords), rtol=1e-5, atol=1e-7)
    assert 0.0 <= p.accuracy(x) <= 1.0 and p.loss(x, "test") > 0
    with pytest.raises(ValueError, match="split"):
        p.loss(x, "valid")


def test_problem_input_errors():
    with pytest.raises(ValueError, match="r must"):
        CosineQuadratic(3, r=np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="sigma1"):
        cosine_quadratic_affine(3, sigma1=-1.0)
    with pytest.raises(ValueError, match="batch size"):
        cosine_quadratic(3).sample_grads(np.zeros(3), 0, np.random.default_rng(0))


# -- statistics and tests ------------------------------------------------------------------------------------------

def test_batch_statistics_and_estimates_by_hand():
    rng = np.random.default_rng(5)
    S = rng.standard_normal((50, 4)) + np.array([1.0, -2.0, 0.5, 0.0])
    st = batch_statistics(S, m_test=30)
    g = S.mean(axis=0)
    T = S[:30]
    np.testing.assert_allclose(st.g, g)
    np.testing.assert_allclose(st.var, T.var(axis=0, ddof=1))
    assert st.ip_var == pytest.approx(np.var(T @ g, ddof=1))
    gsq = g @ g
    assert batch_size_estimate("norm", st, eta=0.5) == pytest.approx(T.var(axis=0, ddof=1).sum() / (0.25 * gsq))
    assert batch_size_estimate("ip", st, theta=0.3) == pytest.approx(np.var(T @ g, ddof=1) / (0.09 * gsq**2))
    W = T - np.outer(T @ g / gsq, g)  # the orthogonal components, explicitly
    orth = W.var(axis=0, ddof=1).sum() / (0.16 * gsq)
    assert batch_size_estimate("ip+orth", st, theta=0.3, nu=0.4) == pytest.approx(
        max(orth, np.var(T @ g, ddof=1) / (0.09 * gsq**2)))
    floor = np.maximum(g * g, 0.1 * gsq / 4)
    assert batch_size_estimate("coord_norm", st, eta=0.5) == pytest.approx(np.max(st.var / (0.25 * floor)))
    eta_j = np.array([0.1, 0.2, 0.3, 0.4])
    assert batch_size_estimate("coord_norm", st, eta=eta_j) == pytest.approx(np.max(st.var / (eta_j**2 * floor)))
    tiny = BatchStats(np.full(4, 1e-20), st.var, 1.0, 30)
    assert batch_size_estimate("norm", tiny) == math.inf
    with pytest.raises(ValueError, match="test"):
        batch_size_estimate("vibes", st)
    one = batch_statistics(S[:1], m_test=10)
    assert one.m == 1 and np.all(np.isnan(one.var))


def test_numba_kernel_equals_generic(pa4):
    from optlab.batching._kernels import glm_stats

    rng = np.random.default_rng(6)
    x = rng.standard_normal(8)
    _, A, y, common = pa4.glm
    for b, m in ((64, 64), (300, 50), (2, 2)):
        idx = pa4.sample_indices(b, rng)
        fused = glm_stats(A, y, idx, x, common(x), m)
        ref = batch_statistics(pa4.grads_at(x, idx), m)
        np.testing.assert_allclose(fused.g, ref.g, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(fused.var, ref.var, rtol=1e-10, atol=1e-15)
        assert fused.ip_var == pytest.approx(ref.ip_var, rel=1e-10, abs=1e-15)


@pytest.mark.parametrize("batch", ["norm", "ip+orth"])
def test_method_numba_path_equals_array_api_strict_generic_path(pa4, batch):
    kw = dict(alpha=0.5, batch=batch, b0=4, b_max=400, eta=0.5, theta=0.5, nu=0.5, max_iter=25, seed=7, m_test=64)
    ref = adagrad_norm(pa4, np.zeros(8), **kw)  # NumPy input: fused Numba kernel
    res = adagrad_norm(pa4, xps.zeros(8, dtype=xps.float64), **kw)  # array_api_strict: generic path
    assert type(res.x).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(res.x), ref.x, rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(res.trace.batch_size, ref.trace.batch_size)
    np.testing.assert_allclose(res.trace.stat_var, ref.trace.stat_var, rtol=1e-9)


@pytest.mark.parametrize("method,batch", [(adagrad_norm, "norm"), (adagrad, "coord_norm"), (adagrad_norm, "ip"),
                                          (adagrad, "stagewise")])
def test_array_api_strict_same_numbers_fast_mode(method, batch):
    p = cosine_quadratic_anisotropic(6)
    x0 = np.linspace(-2, 2, 6)
    kw = dict(alpha=1.0, batch=batch, eta=0.5, max_iter=40, seed=3, stage=5)
    ref = method(p, x0, **kw)
    res = method(p, xps.asarray(x0), **kw)
    np.testing.assert_allclose(np.asarray(res.x), ref.x, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.trace.grad_norm, ref.trace.grad_norm, rtol=1e-12)
    np.testing.assert_array_equal(res.trace.batch_size, ref.trace.batch_size)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_dtype(dtype, pa4):
    res = adagrad(cosine_quadratic(5), np.ones(5, dtype=dtype), max_iter=10)
    assert res.x.dtype == dtype
    res = adagrad_norm(pa4, np.zeros(8, dtype=dtype), b_max=100, max_iter=5)
    assert res.x.dtype == dtype


# -- the methods ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch", BATCH_RULES)
@pytest.mark.parametrize("method", [adagrad, adagrad_norm])
def test_batch_rules_trace_and_cap(method, batch):
    p = cosine_quadratic(10)
    res = method(p, 3 * np.ones(10), alpha=2.0, batch=batch, b0=2, b_max=10**6, eta=0.5, theta=0.5, nu=0.5,
                 max_iter=120, stage=10, ramp=3, seed=0)
    tr = res.trace
    assert len({len(v) for v in tr.values()}) == 1 and tr.n_records == 121
    b = tr.batch_size[:-1]
    assert np.all(np.diff(b) >= 0) and b.max() <= 10**6 and b[0] == 2
    np.testing.assert_array_equal(tr.samples[1:], np.cumsum(b))  # samples used before x_k
    assert res.samples == res.njev == tr.samples[-1]
    if batch == "constant":
        assert np.all(b == 2)
    elif batch == "stagewise":
        np.testing.assert_array_equal(b[:31], np.repeat([2, 4, 8, 16], [10, 10, 10, 1]))
    elif batch == "linear":
        np.testing.assert_array_equal(b[:5], [2, 5, 8, 11, 14])
    if batch in TESTS:
        assert np.isfinite(tr.b_hat[:-1][b < 10**6]).all()
        assert b[-1] > 2  # the gradient shrank, so the test grew the batch
    if res.k_cap >= 0:
        assert b[res.k_cap] == 10**6 and (res.k_cap == 0 or b[res.k_cap - 1] < 10**6)
    assert res.status == "max_iter" and np.isfinite(res.fun)


def test_adaptive_batch_gets_far_below_the_constant_batch_noise_floor():
    p = cosine_quadratic(20)
    x0 = 3 * np.random.default_rng(0).standard_normal(20)
    kw = dict(alpha=5.0, v_init=1e-2, eta=0.5, max_iter=300, seed=0)
    ada = adagrad_norm(p, x0, batch="norm", **kw)
    const = adagrad_norm(p, x0, batch="constant", **kw)
    assert ada.trace.grad_norm[: ada.k_cap].min() ** 2 < 1e-8 < const.trace.grad_norm.min() ** 2
    assert 0 < ada.k_cap < 300


def test_sample_budget_and_gtol():
    p = cosine_quadratic(5)
    res = adagrad_norm(p, np.ones(5), batch="constant", b0=10, max_iter=1000, max_samples=95)
    assert res.samples == 100 and res.nit == 10
    res = adagrad_norm(p, 3 * np.ones(5), alpha=2.0, batch="norm", eta=0.5, max_iter=1000, gtol=1e-3)
    assert res.status == "converged" and res.trace.grad_norm[-1] <= 1e-3 and res.success


def test_zero_gradient_jumps_to_b_max_with_a_warning():
    p = CosineQuadratic(3, sigma0=0.0)  # no noise; x = 0 is stationary
    with pytest.warns(RuntimeWarning, match="noise-dominated"):
        res = adagrad_norm(p, np.zeros(3), batch="norm", b_max=1000, max_iter=3)
    assert res.trace.batch_size[1] == 1000 and res.k_cap == 1
    assert np.all(np.isfinite(res.x))


def test_clear_errors():
    p = cosine_quadratic(4)
    x0 = np.ones(4)
    for kw, match in [({"alpha": 0.0}, "alpha"), ({"alpha": -1.0}, "alpha"), ({"alpha": np.nan}, "alpha"),
                      ({"eta": 0.0}, "eta"), ({"eta": -0.1}, "eta"), ({"theta": 0.0, "batch": "ip"}, "theta"),
                      ({"nu": -1.0}, "nu"), ({"b0": 1}, "b0"), ({"b0": 1, "batch": "coord_norm"}, "b0"),
                      ({"b0": 8, "b_max": 4}, "b_max"), ({"batch": "adaptive"}, "batch"),
                      ({"m_test": 1}, "m_test"), ({"v_init": 0.0}, "v_init"), ({"max_iter": -1}, "max_iter"),
                      ({"eta": np.ones(3), "batch": "coord_norm"}, "eta"), ({"eta": np.ones(4)}, "eta")]:
        with pytest.raises(ValueError, match=match):
            adagrad_norm(p, x0, **kw)
    adagrad_norm(p, x0, b0=1, batch="constant", max_iter=2)  # b0 = 1 is fine without a variance test
    adagrad(p, x0, v_init=0.0, eps=1e-10, max_iter=2)  # AdaGrad's eps guards v_init = 0
    with pytest.raises(ValueError, match="x0"):
        adagrad(p, np.ones(3))
    with pytest.raises(ValueError, match="x0"):
        adagrad(p, np.array([np.nan, 1, 1, 1]))
    with pytest.raises(TypeError, match="sample_grads"):
        adagrad(quadratic(4), x0)
    with pytest.raises(ValueError, match="fast=True"):
        adagrad(logistic_finite_sum(n=50, d=4), np.zeros(4), fast=True)
    with pytest.warns(UserWarning, match="weak test"):
        adagrad_norm(p, x0, eta=1.5, max_iter=2)
    assert isinstance(p, Problem)


def test_explicit_and_fast_modes_agree_in_distribution():
    """The same run drawn from explicit samples and from the fast sampler: close median final gradient norms."""
    p = cosine_quadratic(5)
    x0 = 2 * np.ones(5)
    kw = dict(alpha=1.0, batch="norm", eta=0.5, b_max=5000, max_iter=40)
    fast = [adagrad_norm(p, x0, seed=s, fast=True, **kw).trace.grad_norm[-1] for s in range(30)]
    expl = [adagrad_norm(p, x0, seed=s, fast=False, **kw).trace.grad_norm[-1] for s in range(30)]
    assert np.median(fast) == pytest.approx(np.median(expl), rel=0.35)


def test_digits_training_learns():
    p = digits_softmax(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = adagrad(p, np.zeros(p.dim), alpha=0.05, batch="norm", eta=0.5, b0=8, b_max=p.n_samples,
                      max_iter=150, seed=0, record_every=50)
    assert p.accuracy(res.x) > 0.85
    assert res.trace.fun[-1] < 0.5 * res.trace.fun[0]
