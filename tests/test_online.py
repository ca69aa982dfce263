"""Online learners (optlab.online) and SEA problems (optlab.problems.online).

The learners are checked against slow reference loops written from the problems' own oracles
(``grad``, ``loss``, ``expected_loss``), the Numba path against the generic path, and the generic path
under ``array_api_strict``; the problems' sigma, Sigma and comparators against their definitions.
"""

import math

import array_api_strict as xps
import numpy as np
import pytest

from optlab.online import (
    dynamic_omd,
    metric_projection_simplex,
    ogd,
    ons,
    optimistic_ftl_sc,
    optimistic_ftrl,
    optimistic_omd,
    optimistic_ons,
    record_rounds,
)
from optlab.problems.online import (
    ball_argmin,
    dynamic_family,
    family_a,
    portfolio_family,
    rademacher_bits,
    strongly_convex_family,
    unpack_signs,
)

FIELDS = ("loss", "regret", "pseudo_regret", "dynamic_regret", "V", "eta", "grad_norm", "sigma2", "Sigma2")


# -- problems -----------------------------------------------------------------------------------
def test_signs_unpack_bit_order():
    rng = np.random.default_rng(0)
    bits = rademacher_bits(rng, 3, 130)
    s = unpack_signs(bits[1], 130)
    for i in (0, 5, 63, 64, 100, 129):
        assert s[i] == (1.0 if (int(bits[1, i // 64]) >> (i % 64)) & 1 else -1.0)
    assert set(np.unique(s)) == {-1.0, 1.0}


@pytest.mark.parametrize("schedule", ["hidden_sign", "random_signs", "mixture", "switches", "corrupted", "nonconvex"])
def test_family_a_sigma_and_Sigma_from_definitions(schedule):
    d, T, s, m, w, kappa, R = 4, 300, 0.2, 0.5, 1.5, 0.3, 1.0
    p = family_a(d, T, schedule, s=s, m=m, w=w, kappa=kappa, R=R, seed=3)
    x = np.random.default_rng(1).standard_normal(d)
    x *= 0.7 / np.linalg.norm(x)
    # sigma_t^2 = sup_x E||grad f_t - grad F_t||^2: noise s eps (||.||^2 = d s^2) plus omega x (sup w^2 R^2)
    wmax = w if schedule == "nonconvex" else 0.0
    np.testing.assert_allclose(p.sigma2_round, d * s * s + (wmax * R) ** 2, rtol=1e-12)
    # grad F_t from expected_loss by central differences; Sigma increments are x-free differences of means
    gF = []
    for t in (1, 2, 3, 150):
        h = 1e-6
        gF.append(np.array([(p.expected_loss(t, x + h * e) - p.expected_loss(t, x - h * e)) / (2 * h)
                            for e in np.eye(d)]))
    mu = [gF[i] - kappa * x for i in range(4)]
    np.testing.assert_allclose(p.Sigma2_round[1], np.sum((mu[1] - mu[0]) ** 2), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(p.Sigma2_round[2], np.sum((mu[2] - mu[1]) ** 2), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(p.Sigma2_round[0], (np.linalg.norm(mu[0]) + kappa * R) ** 2, rtol=1e-6)
    # the stochastic gradient has mean grad F_t: grad f_t - grad F_t is s eps_t + omega_t x
    dev = p.grad(150, x) - gF[3]
    eps = unpack_signs(p.stream["noise_bits"][149], d)
    np.testing.assert_allclose(dev, s * eps + (p.stream["curvature"][149] - kappa) * x, atol=1e-6)
    assert np.sum((s * eps) ** 2) == pytest.approx(d * s * s)


def test_family_a_schedules_ii_and_i_exact_totals():
    T, d, s, m = 2000, 5, 0.1, 0.3
    p = family_a(d, T, "hidden_sign", s=s, seed=0)
    assert p.constants["sigma2"] == pytest.approx(T * d * s * s)
    b = p.stream["means"][0, 0]
    assert abs(b) == pytest.approx(2 * s * math.sqrt(d / T))
    assert p.comparator == pytest.approx(np.r_[-np.sign(b), np.zeros(d - 1)])
    # (ii): E Sigma^2 = m^2 (2T - 1); the realized value counts the sign flips
    vals = [family_a(d, T, "random_signs", m=m, seed=k).constants["Sigma2"] for k in range(20)]
    assert np.mean(vals) == pytest.approx(m * m * (2 * T - 1), rel=0.02)
    q = family_a(d, T, "random_signs", m=m, seed=1)
    flips = np.sum(q.stream["mean_sign"][1:] != q.stream["mean_sign"][:-1])
    assert q.constants["Sigma2"] == pytest.approx(m * m * (1 + 4 * flips))


@pytest.mark.parametrize("kappa", [0.0, 0.5, 5.0])
def test_linquad_comparator_is_optimal(kappa):
    p = family_a(3, 400, "switches", m=1.0, K=3, kappa=kappa, seed=2)
    total = lambda u: sum(p.expected_loss(t, u) for t in range(1, p.T + 1))  # noqa: E731
    best = total(p.comparator)
    rng = np.random.default_rng(0)
    for _ in range(30):
        u = rng.standard_normal(3)
        u *= rng.random() / np.linalg.norm(u)
        assert total(u) >= best - 1e-9
    assert np.linalg.norm(p.comparator) <= 1 + 1e-12


def test_ball_argmin_closed_form():
    c = np.array([3.0, 4.0])
    assert ball_argmin(c, 0.0, 2.0) == pytest.approx([-1.2, -1.6])
    assert ball_argmin(c, 10.0, 2.0) == pytest.approx([-0.3, -0.4])
    assert ball_argmin(c, 1.0, 2.0) == pytest.approx([-1.2, -1.6])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("law", ["iid", "alternating"])
def test_portfolio_comparator_to_1e_10(seed, law):
    p = portfolio_family(6, 501, law=law, seed=seed)
    u = p.comparator
    assert np.all(u >= 0) and abs(u.sum() - 1) < 1e-15
    r = p.stream["returns"]
    w = np.array([np.sum(p.stream["law"][p.stream["law_idx"]][:, k]) for k in range(2)])
    grad = -(w[:, None] * r / (r @ u)[:, None]).sum(axis=0) / w.sum()
    fw_gap = float(grad @ u - grad.min())  # Frank-Wolfe gap: certifies optimality over the simplex
    assert fw_gap <= 1e-10


def test_strongly_convex_family_constants():
    p = strongly_convex_family(4, 100, lam=2.0, s=0.1, K=0, seed=0)
    theta = -p.stream["means"][0] / 2.0
    assert p.comparator == pytest.approx(theta)
    assert p.sigma2_round == pytest.approx(np.full(100, 4.0 * 4 * 0.01))
    x = np.array([0.1, -0.2, 0.3, 0.0])
    z = theta - 0.1 * unpack_signs(p.stream["noise_bits"][9], 4)
    assert p.loss(10, x) == pytest.approx(np.sum((x - z) ** 2) - np.sum(z**2))


def test_dynamic_family_path_length():
    p = dynamic_family(5, 1000, K=4, delta=0.3, kappa=1.0, seed=0)
    assert p.constants["P_T"] == pytest.approx(4 * 0.3)
    for k in range(5):
        assert np.linalg.norm(p.stream["means"][k]) <= 0.5 + 1e-12


@pytest.mark.parametrize("bad", [dict(d=0), dict(T=0), dict(s=-1.0), dict(R=0.0), dict(schedule="nope"),
                                 dict(rho=2.0), dict(kappa=np.nan)])
def test_family_a_rejects_bad_input(bad):
    kw = dict(d=3, T=10, schedule="hidden_sign", s=0.1) | bad
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        family_a(kw.pop("d"), kw.pop("T"), kw.pop("schedule"), **kw)


def test_problem_round_range():
    p = family_a(3, 10, "hidden_sign", s=0.1)
    with pytest.raises(ValueError, match="t must be"):
        p.grad(11, np.zeros(3))
    with pytest.raises(ValueError, match="portfolio"):
        portfolio_family(1, 10)


# -- reference loops from the oracles --------------------------------------------------------------
def _proj(z, R):
    n = np.linalg.norm(z)
    return z if n <= R else z * (R / n)


def _ref_omd_ball(p, eta_fn, optimism=True):
    xhat, M, V, xs = np.zeros(p.dim), np.zeros(p.dim), 0.0, []
    for t in range(1, p.T + 1):
        eta = eta_fn(t, V)
        x = _proj(xhat - eta * M, p.radius)
        g = p.grad(t, x)
        V += float(np.sum((g - M) ** 2))
        xhat = _proj(xhat - eta * g, p.radius)
        M = g if optimism else np.zeros(p.dim)
        xs.append(x)
    return np.array(xs), V


@pytest.fixture(scope="module")
def noisy():
    return family_a(5, 400, "mixture", s=0.3, m=0.2, kappa=0.5, seed=4)


@pytest.mark.parametrize("optimism", [True, False])
def test_omd_ball_matches_reference(noisy, optimism):
    p = noisy
    c = p.constants
    delta = (c["L"] * c["D"]) ** 2
    xs, V = _ref_omd_ball(p, lambda t, V: c["D"] / math.sqrt(delta + 4 * c["G"] ** 2 + V), optimism)
    for path in ("numba", "generic"):
        res = optimistic_omd(p, optimism=optimism, path=path, n_records=5)
        assert res.status == "converged" and res.success and res.nit == p.T
        np.testing.assert_allclose(res.x, xs[-1], rtol=1e-10, atol=1e-13)
        assert res.trace.pseudo_regret[-1] == pytest.approx(p.regret(xs), rel=1e-9)
        assert res.trace.regret[-1] == pytest.approx(p.regret(xs, expected=False), rel=1e-9)
        assert res.trace.loss[-1] == pytest.approx(sum(p.loss(t, xs[t - 1]) for t in range(1, p.T + 1)), rel=1e-9)
        assert res.trace.V[-1] == pytest.approx(V, rel=1e-10)
    # eta_1 reads V_0 = 0, never V_1
    first = optimistic_omd(p, record_every=1)
    assert first.trace.eta[0] == pytest.approx(c["D"] / math.sqrt(delta + 4 * c["G"] ** 2))


def test_dynamic_regret_against_per_round_minimizer():
    p = dynamic_family(4, 300, K=3, delta=0.3, kappa=2.0, s=0.1, seed=1)
    c = p.constants
    xs, _ = _ref_omd_ball(p, lambda t, V: c["D"] / math.sqrt((c["L"] * c["D"]) ** 2 + 4 * c["G"] ** 2 + V))
    ref = 0.0
    for t in range(1, p.T + 1):
        mu = p.stream["means"][p.stream["mean_idx"][t - 1]]
        u_t = ball_argmin(mu, 2.0, 1.0)
        ref += p.expected_loss(t, xs[t - 1]) - p.expected_loss(t, u_t)
    res = optimistic_omd(p, n_records=3)
    assert res.trace.dynamic_regret[-1] == pytest.approx(ref, rel=1e-9)


def test_ftrl_and_ftl_match_reference(noisy):
    p = noisy
    c = p.constants
    nu = c["L"] * c["D"] ** 2 + c["D"] * c["G"] ** 2
    S, M, Vw, xs = np.zeros(p.dim), np.zeros(p.dim), 0.0, []
    for t in range(1, p.T + 1):
        eta = c["D"] ** 2 / (nu + Vw)
        x = _proj(-0.5 * eta * (S + M), p.radius)
        g = p.grad(t, x)
        Vw += eta * float(np.sum((g - M) ** 2))
        S, M = S + g, g
        xs.append(x)
    for path in ("numba", "generic"):
        res = optimistic_ftrl(p, path=path, n_records=3)
        assert res.trace.pseudo_regret[-1] == pytest.approx(p.regret(np.array(xs)), rel=1e-9)
    mu = 0.5
    A, M, xs = np.zeros(p.dim), np.zeros(p.dim), []
    for t in range(1, p.T + 1):
        x = np.zeros(p.dim) if t == 1 else _proj((A - M / mu) / (t - 1), p.radius)
        g = p.grad(t, x)
        A, M = A + x - g / mu, g
        xs.append(x)
    for path in ("numba", "generic"):
        res = optimistic_ftl_sc(p, mu=mu, path=path, n_records=3)
        assert res.trace.pseudo_regret[-1] == pytest.approx(p.regret(np.array(xs)), rel=1e-9)


def test_entropic_omd_matches_reference():
    p = portfolio_family(5, 300, law="iid", seed=2)
    c = p.constants
    A = math.sqrt(math.log(5))
    xhat, M, V, xs = np.full(5, 0.2), np.zeros(5), 0.0, []
    for t in range(1, p.T + 1):
        eta = A / math.sqrt(1.0 + 4 * c["G_inf"] ** 2 + V)
        x = xhat * np.exp(-eta * M)
        x /= x.sum()
        g = p.grad(t, x)
        V += float(np.max(np.abs(g - M))) ** 2
        xhat = xhat * np.exp(-eta * g)
        xhat /= xhat.sum()
        M = g
        xs.append(x)
    for path in ("numba", "generic"):
        res = optimistic_omd(p, path=path, n_records=3)
        np.testing.assert_allclose(res.x, xs[-1], rtol=1e-10)
        assert res.trace.pseudo_regret[-1] == pytest.approx(p.regret(np.array(xs)), rel=1e-9)
        assert res.trace.regret[-1] == pytest.approx(p.regret(np.array(xs), expected=False), rel=1e-9)


# -- Numba path == generic path; generic under array_api_strict ---------------------------------------
RUNS = {
    "omd_adaptive": lambda p, **k: optimistic_omd(p, **k),
    "omd_sc": lambda p, **k: optimistic_omd(p, step="strongly_convex", **k),
    "omd_fixed_m0": lambda p, **k: optimistic_omd(p, step=0.05, optimism=False, **k),
    "ogd": lambda p, **k: ogd(p, **k),
    "ogd_sc": lambda p, **k: ogd(p, step="strongly_convex", **k),
    "oftrl": lambda p, **k: optimistic_ftrl(p, **k),
    "oftl_sc": lambda p, **k: optimistic_ftl_sc(p, **k),
    "ensemble": lambda p, **k: dynamic_omd(p, **k),
}


@pytest.fixture(scope="module")
def sc_problem():
    return strongly_convex_family(70, 300, lam=1.0, s=0.2, K=2, seed=5)  # d = 70: two noise words


@pytest.mark.parametrize("name", sorted(RUNS))
def test_numba_equals_generic(name, sc_problem):
    a = RUNS[name](sc_problem, path="numba", n_records=20)
    b = RUNS[name](sc_problem, path="generic", n_records=20)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-9, atol=1e-12)
    for f in FIELDS:
        np.testing.assert_allclose(a.trace[f], b.trace[f], rtol=1e-9, atol=1e-10, err_msg=f)


LONG_T = 3000  # > 1024: the fused loop's periodic re-summation of ||z||^2 and its lazy scale both run
LONG = {
    "mixture_kappa": lambda: family_a(70, LONG_T, "mixture", s=0.3, m=0.2, kappa=0.5, seed=1),
    "hidden_sign": lambda: family_a(130, LONG_T, "hidden_sign", s=0.1, seed=3),
    "switches_dense": lambda: family_a(20, LONG_T, "switches", m=1.0, K=3, seed=5),
    "nonconvex": lambda: family_a(9, LONG_T, "nonconvex", s=0.1, w=0.5, kappa=0.2, seed=6),
}
LONG_RUNS = {
    "omd": lambda p, **k: optimistic_omd(p, **k),
    "omd_no_hint": lambda p, **k: optimistic_omd(p, optimism=False, **k),
    "omd_projecting": lambda p, **k: optimistic_omd(p, step=5.0, **k),  # a large fixed step projects every round
}


@pytest.mark.parametrize("run", sorted(LONG_RUNS))
@pytest.mark.parametrize("family", sorted(LONG))
def test_numba_equals_generic_long_runs(family, run):
    prob = LONG[family]()
    a = LONG_RUNS[run](prob, path="numba", n_records=30)
    b = LONG_RUNS[run](prob, path="generic", n_records=30)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-9, atol=1e-12)
    for f in FIELDS:
        x, y = np.asarray(a.trace[f]), np.asarray(b.trace[f])
        assert np.array_equal(np.isfinite(x), np.isfinite(y)), f
        m = np.isfinite(y)
        np.testing.assert_allclose(x[m], y[m], rtol=1e-9, atol=1e-10, err_msg=f)



@pytest.mark.parametrize("d", [1, 7, 8, 9, 17, 24, 41, 64])
@pytest.mark.parametrize("kind", ["e1_means", "dense_means"])
def test_noisy_pass_block_edges(kind, d):
    """The noisy round's pass (the sign table read per 8-coordinate block, four blocks at a time, the means'
    bytes, the last byte and the padding handled apart) against the generic path, for dimensions around every
    block edge, with means on e_1 (one means' byte) and dense means (every byte), with and without the hint and
    the curvature."""
    if kind == "e1_means":
        probs = [family_a(d, 300, "mixture", s=0.3, m=0.2, kappa=kappa, seed=d) for kappa in (0.0, 0.5)]
    else:
        probs = [strongly_convex_family(d, 300, lam=1.0, s=0.2, K=2, seed=d)]
    for p in probs:
        for optimism in (True, False):
            a = optimistic_omd(p, optimism=optimism, path="numba", n_records=7)
            b = optimistic_omd(p, optimism=optimism, path="generic", n_records=7)
            np.testing.assert_allclose(a.x, b.x, rtol=1e-9, atol=1e-12)
            for f in FIELDS:
                np.testing.assert_allclose(a.trace[f], b.trace[f], rtol=1e-9, atol=1e-10, err_msg=f)

@pytest.mark.parametrize("name", ["omd_adaptive", "oftrl", "ensemble"])
def test_array_api_strict_same_numbers(name, sc_problem):
    ref = RUNS[name](sc_problem, path="generic", n_records=10)
    res = RUNS[name](sc_problem, x0=xps.zeros(70, dtype=xps.float64), n_records=10)
    assert type(res.x).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(res.x), ref.x, rtol=1e-12, atol=1e-14)
    for f in FIELDS:
        np.testing.assert_allclose(res.trace[f], ref.trace[f], rtol=1e-12, atol=1e-12, err_msg=f)


def test_simplex_array_api_strict():
    p = portfolio_family(4, 200, seed=0)
    ref = optimistic_omd(p, n_records=5)
    res = optimistic_omd(p, xps.full(4, 0.25, dtype=xps.float64), n_records=5)
    np.testing.assert_allclose(res.trace.pseudo_regret, ref.trace.pseudo_regret, rtol=1e-10)


# -- behaviour ----------------------------------------------------------------------------------------
def test_optimism_false_is_adaptive_ogd(noisy):
    res = optimistic_omd(noisy, optimism=False, record_every=1)
    assert res.trace.V[-1] == pytest.approx(np.sum(res.trace.grad_norm**2), rel=1e-10)


def test_trace_sigma_columns_and_records(noisy):
    res = optimistic_omd(noisy, record_every=50)
    np.testing.assert_array_equal(res.trace.iteration, np.arange(50, 401, 50))
    assert res.trace.sigma2 == pytest.approx(noisy.sigma2_cum[np.arange(49, 400, 50)])
    assert res.trace.Sigma2 == pytest.approx(noisy.Sigma2_cum[np.arange(49, 400, 50)])
    assert len({len(v) for v in res.trace.values()}) == 1
    r = record_rounds(1000, n_records=10)
    assert r[-1] == 1000 and r[0] == 1 and np.all(np.diff(r) > 0)


def test_iterates_stay_in_X():
    p = strongly_convex_family(3, 200, lam=5.0, s=0.5, seed=0)
    for f in (lambda: optimistic_omd(p, step="strongly_convex"), lambda: ogd(p, step=10.0),
              lambda: optimistic_ftrl(p)):
        assert np.linalg.norm(f().x) <= 1 + 1e-12


def test_regret_sqrt_T_on_hidden_sign():
    R = [np.mean([optimistic_omd(family_a(5, T, "hidden_sign", s=0.1, seed=k), n_records=1).trace.pseudo_regret[-1]
                  for k in range(8)]) for T in (1000, 16000)]
    assert 0.4 <= math.log(R[1] / R[0]) / math.log(16) <= 0.6


# -- exp-concave ----------------------------------------------------------------------------------
def _euclid_simplex(y):
    u = np.sort(y)[::-1]
    css = np.cumsum(u) - 1
    k = np.nonzero(u * np.arange(1, len(y) + 1) > css)[0][-1]
    return np.maximum(y - css[k] / (k + 1), 0)


@pytest.mark.parametrize("seed", range(6))
def test_metric_projection_kkt(seed):
    rng = np.random.default_rng(seed)
    d = 2 + seed * 3
    y = 2 * rng.standard_normal(d)
    assert metric_projection_simplex(np.eye(d), y) == pytest.approx(_euclid_simplex(y), abs=1e-12)
    B = rng.standard_normal((d, d))
    U = B @ B.T + 0.1 * np.eye(d)
    x = metric_projection_simplex(U, y)
    assert np.all(x >= 0) and x.sum() == pytest.approx(1)
    lam = U @ (x - y)
    nu = -np.mean(lam[x > 1e-12])
    lam = lam + nu
    assert np.all(np.abs(lam[x > 1e-12]) < 1e-8 * max(1, np.abs(lam).max()))
    assert np.all(lam[x <= 1e-12] >= -1e-8)


def test_ons_variants_run_and_learn():
    p = portfolio_family(4, 600, law="alternating", seed=1)
    for res in (ons(p), optimistic_ons(p), optimistic_ons(p, optimism=False)):
        assert res.status == "converged"
        assert np.all(res.x >= 0) and res.x.sum() == pytest.approx(1)
        assert res.trace.pseudo_regret[-1] < 0.05 * p.T  # far below a fixed bad portfolio's linear regret


# -- bad input -------------------------------------------------------------------------------------
def test_rejects_bad_input(noisy):
    p = noisy
    with pytest.raises(ValueError, match="x0"):
        optimistic_omd(p, np.ones(5))
    with pytest.raises(ValueError, match="x0"):
        optimistic_omd(p, np.zeros(4))
    with pytest.raises(ValueError, match="x0"):
        optimistic_omd(p, np.array([np.nan, 0, 0, 0, 0]))
    with pytest.raises(TypeError, match="x0"):
        optimistic_omd(p, np.zeros(5, dtype=complex))
    for bad in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="step"):
            optimistic_omd(p, step=bad)
        with pytest.raises(ValueError, match="step"):
            ogd(p, step=bad)
    with pytest.raises(ValueError, match="step"):
        optimistic_omd(p, step="fast")
    with pytest.raises(ValueError, match="lam"):
        optimistic_omd(family_a(3, 10, "hidden_sign", s=0.1), step="strongly_convex")
    with pytest.raises(ValueError, match="lam"):
        optimistic_omd(p, step="strongly_convex", lam=-1.0)
    with pytest.raises(ValueError, match="delta"):
        optimistic_omd(p, delta=0.0)
    with pytest.raises(TypeError, match="online problem"):
        optimistic_omd(object())
    with pytest.raises(ValueError, match="path"):
        optimistic_omd(p, path="gpu")
    with pytest.raises(ValueError, match="numba"):
        optimistic_omd(p, xps.zeros(5, dtype=xps.float64), path="numba")
    with pytest.raises(ValueError, match="record_every"):
        optimistic_omd(p, record_every=0)
    with pytest.raises(ValueError, match="portfolio"):
        ons(p)
    with pytest.raises(ValueError, match="linquad"):
        optimistic_ftrl(portfolio_family(3, 10))
    with pytest.raises(ValueError, match="etas"):
        dynamic_omd(p, etas=[0.1, -1.0])
    with pytest.raises(ValueError, match="simplex"):
        optimistic_omd(portfolio_family(3, 10), np.array([0.5, 0.5, 0.5]))


def test_non_finite_stream_is_rejected():
    p = family_a(3, 10, "hidden_sign", s=0.1)
    p.stream["means"] = p.stream["means"].copy()
    p.stream["means"][0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        optimistic_omd(p)


def test_missing_constant_is_named():
    p = family_a(3, 10, "hidden_sign", s=0.1)
    del p.constants["G"]
    with pytest.raises(ValueError, match="G"):
        optimistic_omd(p)


def test_alternating_is_the_adversarial_extreme():
    T = 101
    p = family_a(3, T, "alternating", m=2.0)
    G = 2.0
    assert p.constants["Sigma2"] == pytest.approx(G**2 + 4 * G**2 * (T - 1))
    assert p.constants["sigma2"] == 0.0


def test_average_is_the_mean_played_point(noisy):
    p = noisy
    c = p.constants
    xs, _ = _ref_omd_ball(p, lambda t, V: c["D"] / math.sqrt((c["L"] * c["D"]) ** 2 + 4 * c["G"] ** 2 + V))
    for path in ("numba", "generic"):
        res = optimistic_omd(p, average=True, path=path, n_records=2)
        np.testing.assert_allclose(res.x_mean, xs.mean(axis=0), rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="average"):
        optimistic_omd(portfolio_family(3, 10), average=True)
