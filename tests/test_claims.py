"""Every registered claim holds in the quick set and its negative control FAILS.

A claim whose control passes cannot tell a right rate from a wrong one: that is a
failure of the claim, and this file is where it is caught.
"""

import json

import numpy as np
import pytest

from optlab.claims import PREFIXES, Claim, Outcome, Series, all_claims, get, run_claim, select
from optlab.claims.checks import bound_everywhere, fitted_in_band
from optlab.rates import fit_power_law

IDS = sorted(all_claims())


@pytest.fixture(scope="module")
def verdicts():
    return {cid: run_claim(get(cid), quick=True) for cid in IDS}


@pytest.mark.parametrize("cid", IDS)
def test_claim_passes_quick(cid, verdicts):
    v = verdicts[cid]
    assert v.verdict == "pass", v.outcome.fitted


@pytest.mark.parametrize("cid", IDS)
def test_negative_control_fails(cid, verdicts):
    v = verdicts[cid]
    assert v.control_verdict == "fail", f"control of {cid} was not rejected: {v.control.fitted}"
    assert v.holds


@pytest.mark.parametrize("cid", IDS)
def test_claim_is_self_describing(cid):
    c = get(cid)
    assert cid.split(".")[0] in PREFIXES
    for attr in ("paper", "theorem", "statement", "kind", "quantity", "stated", "control"):
        assert getattr(c, attr), attr
    doc = type(c).__doc__ or ""
    assert "Kind:" in doc and "Negative control" in doc


@pytest.mark.parametrize("cid", IDS)
def test_record_is_json(cid, verdicts):
    rec = json.loads(json.dumps(verdicts[cid].record()))
    for key in ("id", "paper", "theorem", "quantity", "stated", "fitted", "verdict", "control_verdict", "seconds"):
        assert key in rec
    assert rec["verdict"] in ("pass", "fail") and rec["control_verdict"] == "fail"


def test_select_by_prefix_and_id():
    calib = select(["calib"])
    assert calib and all(c.id.startswith("calib.") for c in calib)
    assert [c.id for c in select(["calib.gd_linear"])] == ["calib.gd_linear"]
    assert len(select([])) == len(IDS)
    with pytest.raises(KeyError, match="matches no claim"):
        select(["calib.nope"])
    with pytest.raises(KeyError, match="matches no claim"):
        select(["cal"])  # a prefix must be a whole paper prefix


def _series(p, bound_c=1.0, n=3):
    k = np.arange(1, 200, dtype=float)
    return [Series(k, k**-p * (1 + 0.01 * s), bound=bound_c * k**-1.0 * 1.5, seed=s) for s in range(n)]


def test_bound_check_rejects_violation_anywhere():
    ok = bound_everywhere(_series(1.0))
    assert ok.passed and ok.numbers["worst_ratio"] < 1
    bad = _series(1.0)
    bad[1].y[50] = 10.0  # one point of one seed
    out = bound_everywhere(bad)
    assert not out.passed and out.numbers["worst_seed"] == 1 and out.bound.at == 51


def test_band_check_uses_interval():
    assert fitted_in_band(_series(2.0), fit_power_law, (1.9, 2.1)).passed
    assert not fitted_in_band(_series(2.0), fit_power_law, (2.05, 3.0)).passed
    too_short = [Series([1.0, 2.0], [1.0, 0.5])]
    assert not fitted_in_band(too_short, fit_power_law, (0, 9)).passed  # no fit: fails, never passes


def test_claim_kind_is_validated():
    with pytest.raises(ValueError, match="kind"):
        type("Bad", (Claim,), {"kind": "vibes"})


def test_outcome_defaults():
    out = Outcome(True, "x")
    assert out.fit is None and out.numbers == {}


def test_seed_override_and_deterministic_claims():
    v = run_claim(get("calib.gd_linear"), quick=True, seeds=2)
    assert [s.seed for s in v.series] == [0, 1] == [s.seed for s in v.control_series]
    assert get("calib.gd_sublinear").seed_list(quick=True, n=7) == [0]  # deterministic: one run


@pytest.mark.slow
@pytest.mark.parametrize("cid", IDS)
def test_claim_full_set_holds(cid):
    v = run_claim(get(cid), quick=False)
    assert v.holds, (v.outcome.fitted, v.control.fitted)
