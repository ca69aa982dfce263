"""Rate fitting recovers known truth; bound checks and windows behave as documented."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab.rates import (
    bootstrap_ci,
    check_bound,
    fit_complexity,
    fit_linear_rate,
    fit_order,
    fit_power_law,
    fit_seeds,
    median_band,
    tail_window,
)


@settings(max_examples=40, deadline=None)
@given(p=st.floats(0.2, 4.0), c=st.floats(1e-3, 1e3), noise=st.floats(0.0, 0.1), seed=st.integers(0, 10**6))
def test_power_law_recovers_exponent(p, c, noise, seed):
    rng = np.random.default_rng(seed)
    k = np.arange(1, 2001, dtype=float)
    y = c * k**-p * np.exp(noise * rng.standard_normal(k.size))
    fit = fit_power_law(k, y)
    assert abs(fit.value - p) < 0.05 + 0.5 * noise
    assert fit.ci[0] <= fit.value <= fit.ci[1]
    assert fit.kind == "power"


@settings(max_examples=40, deadline=None)
@given(q=st.floats(0.3, 0.999), noise=st.floats(0.0, 0.05), seed=st.integers(0, 10**6))
def test_linear_rate_recovers_factor(q, noise, seed):
    rng = np.random.default_rng(seed)
    k = np.arange(0, 400, dtype=float)
    y = q**k * np.exp(noise * rng.standard_normal(k.size))
    fit = fit_linear_rate(k, y, floor=1e-300)
    assert abs(np.log(fit.value) - np.log(q)) < 0.02 * abs(np.log(q)) + 0.01 * noise + 1e-6


@pytest.mark.parametrize("r", [1.5, 2.0, 3.0])
def test_order_recovers_superlinear_order(r):
    y = [0.09]
    while y[-1] > 1e-250:
        y.append(0.7 * y[-1] ** r)
    fit = fit_order(y)
    assert abs(fit.value - r) < 0.05


def test_order_of_linear_sequence_is_one():
    y = 0.5 ** np.arange(5, 200, dtype=float)
    assert abs(fit_order(y).value - 1.0) < 1e-6


def test_complexity_slope():
    eps = np.geomspace(1e-1, 1e-4, 8)
    n = 3.0 * eps**-2.0
    n[2] = np.nan  # a run that never reached eps is dropped
    fit = fit_complexity(eps, n)
    assert fit.value == pytest.approx(2.0, abs=1e-10)
    assert fit.n_points == 7


def test_window_stops_at_float_floor():
    k = np.arange(100, dtype=float)
    y = 0.5**k
    y[60:] = 1e-18  # a plateau at the floor: a fit through it would be wrong
    m = tail_window(k, y, skip=0.0, floor=1e-18)
    assert m[:60].all() and not m[60:].any()
    default = tail_window(k, y, skip=0.0)  # default floor: 1e-12 * max(y)
    assert default[:40].all() and not default[40:].any()
    assert fit_linear_rate(k, y).value == pytest.approx(0.5, rel=1e-10)


def test_power_window_is_the_tail_in_log_k():
    k = np.arange(1, 1001, dtype=float)
    m = tail_window(k, k**-1.0, skip=0.5, log_skip=True)
    assert k[m].min() == pytest.approx(np.sqrt(1000), rel=0.05)


def test_explicit_window():
    k = np.arange(1, 101, dtype=float)
    fit = fit_power_law(k, k**-2.0, window=(10, 20))
    assert fit.window == (10.0, 20.0) and fit.n_points == 11


def test_fit_needs_points():
    with pytest.raises(ValueError, match="at least 3 points"):
        fit_power_law([1.0, 2.0], [1.0, 0.5])
    with pytest.raises(ValueError, match="same length"):
        tail_window([1.0, 2.0], [1.0])


def test_check_bound_worst_ratio_and_violation():
    k = np.arange(1, 11, dtype=float)
    ok = check_bound(0.5 / k, 1.0 / k, k=k)
    assert ok.holds and ok.worst_ratio == pytest.approx(0.5)
    bad = check_bound(np.where(k == 7, 2.0 / k, 0.5 / k), 1.0 / k, k=k)
    assert not bad.holds and bad.at == 7 and bad.worst_ratio == pytest.approx(2.0)
    nan = check_bound(np.array([0.1, np.nan]), np.array([1.0, 1.0]))
    assert not nan.holds and nan.worst_ratio == np.inf


def test_bootstrap_ci_brackets_median_and_shrinks():
    rng = np.random.default_rng(0)
    small = bootstrap_ci(rng.normal(1.0, 0.1, 8))
    large = bootstrap_ci(rng.normal(1.0, 0.1, 200))
    assert small[0] < 1.0 < small[1]
    assert large[1] - large[0] < small[1] - small[0]
    assert bootstrap_ci([3.0]) == (3.0, 3.0)


def test_fit_seeds_median_and_interval():
    k = np.arange(1, 500, dtype=float)
    ps = [1.8, 1.9, 2.0, 2.1, 2.2]
    fit = fit_seeds(fit_power_law, [(k, k**-p) for p in ps])
    assert fit.value == pytest.approx(2.0, abs=1e-6)
    assert 1.8 <= fit.ci[0] <= 2.0 <= fit.ci[1] <= 2.2
    assert sorted(fit.per_seed) == pytest.approx(ps, abs=1e-6)


def test_median_band_pads_short_curves():
    med, lo, hi = median_band([[1.0, 2.0, 3.0], [3.0, 4.0]])
    assert med.tolist() == [2.0, 3.0, 3.0]
    assert (lo <= med).all() and (med <= hi).all()


def test_predict_matches_model():
    k = np.arange(1, 100, dtype=float)
    fit = fit_power_law(k, 5.0 * k**-1.5)
    np.testing.assert_allclose(fit.predict(k), 5.0 * k**-1.5, rtol=1e-10)
