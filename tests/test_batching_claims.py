"""The O(1/K) check of the adadagrad claims on synthetic series whose verdict is known.

The claims themselves run in tests/test_claims.py (quick set, controls rejected); here the
check is shown to reject each broken pattern on its own, including the stalled batch of the
specification's Section 9, which a slope-only check passed.
"""

import numpy as np
import pytest

from optlab.claims import get
from optlab.claims.adadagrad import EPS, _o1k_check
from optlab.claims.base import Series


def _series(gsq, variant, seed, pre=None):
    K = np.arange(1, len(gsq) + 1, dtype=float)
    pre = len(gsq) if pre is None else pre
    return Series(K, np.cumsum(gsq) / K, seed=seed,
                  info={"variant": variant, "pre": pre, "min_pre": float(np.min(gsq[:pre]))})


def _geometric(seed):  # linear convergence to 1e-11, then the cap at k = 60
    rng = np.random.default_rng(seed)
    return 100.0 * 0.6 ** np.arange(400) * np.exp(0.1 * rng.standard_normal(400))


def _sqrt(seed):  # constant-batch AdaGrad-Norm: ||grad F||^2 ~ k^-1/2
    rng = np.random.default_rng(seed)
    return np.arange(1, 5001) ** -0.5 * np.exp(0.3 * rng.standard_normal(5000))


def _stalled(seed):  # fast start, then a plateau at 1e-5 (bounded-looking sum, slope -1)
    rng = np.random.default_rng(seed)
    return np.maximum(100.0 * 0.6 ** np.arange(5000), 1e-5) * np.exp(0.1 * rng.standard_normal(5000))


def test_adaptive_pattern_passes():
    out = _o1k_check([_series(_geometric(s), "adaptive", s, pre=60) for s in range(5)])
    assert out.passed, out.fitted
    assert out.numbers["adaptive"]["min_gsq_q90"] <= EPS


@pytest.mark.parametrize("make,why", [(_sqrt, "slope"), (_stalled, "eps")])
def test_broken_patterns_fail(make, why):
    out = _o1k_check([_series(make(s), "broken", s) for s in range(5)])
    assert not out.passed, out.fitted
    n = out.numbers["broken"]
    if why == "eps":  # the stalled batch: slope and sum look like O(1/K); only the eps requirement rejects it
        assert -1.1 <= n["slope_median"] <= -0.9 and n["ratio"] <= 1.1 and n["min_gsq_q90"] > EPS
    else:
        assert n["slope_median"] > -0.65 and n["ratio"] >= 2


def test_control_with_two_variants_fails_only_if_both_fail():
    good = [_series(_geometric(s), "adaptive", s, pre=60) for s in range(5)]
    bad = [_series(_sqrt(s), "constant", s) for s in range(5)]
    for g, b in zip(good, bad, strict=True):
        b.info["also"] = [g]
    assert _o1k_check(bad).passed  # one variant passing is enough for the control to "pass" (and the claim to fail)
    for b in bad:
        b.info["also"] = [_series(_stalled(b.seed), "stalled", b.seed)]
    assert not _o1k_check(bad).passed


def test_too_short_pre_cap_window_fails():
    out = _o1k_check([_series(_geometric(s), "adaptive", s, pre=8) for s in range(3)])
    assert not out.passed and "steps before the cap" in out.fitted


def test_claims_are_registered_and_self_describing():
    for cid in ("adadagrad.e1_o1k", "adadagrad.e2_test_accuracy", "adadagrad.e3_growth", "adadagrad.e4_coord",
                "adadagrad.e5_samples"):
        c = get(cid)
        assert c.paper.startswith("Lau") and "Negative control" in type(c).__doc__
