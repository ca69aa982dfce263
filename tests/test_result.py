"""Result fields, trace recording and status computed from the trace."""

import numpy as np
import pytest

from optlab.firstorder import gradient_descent
from optlab.problems import quadratic
from optlab.result import Monitor, Result, Status, Trace, status_from_trace

FIELDS = ("x", "fun", "nit", "nfev", "njev", "nhev", "status", "success", "message", "trace")


@pytest.fixture(scope="module")
def prob():
    return quadratic(10, mu=0.1, L=1.0, seed=3)


def test_result_fields_always_present(prob):
    res = gradient_descent(prob, np.zeros(10), max_iter=5)
    for f in FIELDS:
        assert f in res and hasattr(res, f)
    lengths = {len(v) for v in res.trace.values()}
    assert lengths == {res.trace.n_records}
    assert res.status == "max_iter" and not res.success


def test_record_every_and_last_iteration_recorded(prob):
    res = gradient_descent(prob, np.zeros(10), max_iter=25, gtol=None, record_every=10)
    assert res.trace.iteration.tolist() == [0, 10, 20, 25]
    assert res.nit == 25 and res.njev == 26
    np.testing.assert_allclose(res.trace.gap, res.trace.fun - prob.f_star, atol=1e-15)
    assert (np.diff(res.trace.time) >= 0).all()


def test_converged_status_from_trace(prob):
    res = gradient_descent(prob, np.zeros(10), max_iter=10_000, gtol=1e-8)
    assert res.status == Status.CONVERGED and res.success
    assert res.trace.grad_norm[-1] <= 1e-8 < res.trace.grad_norm[-2]


def test_diverged_status(prob):
    res = gradient_descent(prob, np.zeros(10), step=3.0, max_iter=100_000, record_every=50)
    assert res.status == "diverged" and not res.success
    assert "step size" in res.message
    assert res.nit < 100_000  # stopped at the first non-finite record, not at the budget


def test_callback_receives_intermediate_result_and_can_stop(prob):
    seen = []

    def cb(intermediate):
        assert isinstance(intermediate, Result)
        seen.append(intermediate.nit)
        if intermediate.nit >= 4:
            raise StopIteration

    res = gradient_descent(prob, np.zeros(10), max_iter=100, callback=cb)
    assert seen == [0, 1, 2, 3, 4]
    assert res.status == "callback" and res.nit == 4


def test_status_is_computed_not_a_sentinel():
    tr = Trace(iteration=np.array([0.0, 1.0]), fun=np.array([1.0, 0.5]), gap=np.array([1.0, 1e-9]),
               grad_norm=np.array([1.0, 1e-3]))
    assert status_from_trace(tr, gtol=1e-6, ftol=None) == "max_iter"
    assert status_from_trace(tr, gtol=1e-6, ftol=1e-8) == "converged"
    assert status_from_trace(tr, gtol=1e-2, ftol=None) == "converged"
    tr["fun"][-1] = np.inf
    assert status_from_trace(tr, gtol=1e-2, ftol=None) == "diverged"
    assert status_from_trace(tr, gtol=None, ftol=None, reason=Status.SEARCH_FAILED) == "diverged"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"max_iter": -1}, "max_iter"), ({"record_every": 0}, "record_every"), ({"gtol": -1.0}, "gtol"),
])
def test_monitor_rejects_bad_options(kwargs, match):
    opts = {"max_iter": 10} | kwargs
    with pytest.raises(ValueError, match=match):
        Monitor(None, **opts)


def test_status_compares_to_string():
    assert Status.CONVERGED == "converged" and str(Status.DIVERGED) == "diverged"
