"""The contract every registered method must pass (one list, every method, as optax does).

A method joins by one line in ``optlab.methods.METHODS``.
"""

import inspect

import array_api_strict as xps
import numpy as np
import pytest

from optlab.methods import METHODS, load
from optlab.problems import quadratic

NAMES = sorted(METHODS)


@pytest.fixture(scope="module")
def prob():
    return quadratic(8, mu=0.1, L=2.0, seed=11)


@pytest.mark.parametrize("name", NAMES)
def test_decreases_objective_on_quadratic(name, prob):
    x0 = np.ones(8)
    res = load(name)(prob, x0, max_iter=200)
    assert res.fun < 1e-3 * float(prob.f(x0))
    assert res.trace.fun[-1] <= res.trace.fun[0]
    assert res.status in ("converged", "max_iter")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_dtype(name, dtype, prob):
    res = load(name)(prob, np.ones(8, dtype=dtype), max_iter=20)
    assert res.x.dtype == dtype and isinstance(res.x, np.ndarray)


@pytest.mark.parametrize("name", NAMES)
def test_array_api_strict_same_numbers(name, prob):
    ref = load(name)(prob, np.ones(8), max_iter=30, gtol=None)
    res = load(name)(prob, xps.ones(8, dtype=xps.float64), max_iter=30, gtol=None)
    assert type(res.x).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(res.x), ref.x, rtol=1e-12, atol=1e-14)
    # the gap at the floating-point floor differs by rounding (LAPACK on NumPy, generic solves elsewhere)
    np.testing.assert_allclose(res.trace.gap, ref.trace.gap, rtol=1e-10, atol=1e-12 * ref.trace.gap[0])
    assert res.nit == ref.nit and res.njev == ref.njev


@pytest.mark.parametrize("name", NAMES)
def test_rejects_bad_input(name, prob):
    method = load(name)
    with pytest.raises(ValueError, match="x0"):
        method(prob, np.ones(7))
    with pytest.raises(ValueError, match="x0"):
        method(prob, np.ones((8, 1)))
    with pytest.raises(ValueError, match="x0"):
        method(prob, np.array([np.nan] + [1.0] * 7))
    with pytest.raises(TypeError, match="x0"):
        method(prob, np.ones(8, dtype=complex))
    with pytest.raises(ValueError, match="max_iter"):
        method(prob, np.ones(8), max_iter=-1)
    if "step" in inspect.signature(method).parameters:
        for bad in (0.0, -1.0, np.inf, np.nan):
            with pytest.raises(ValueError, match="step"):
                method(prob, np.ones(8), step=bad)


@pytest.mark.parametrize("name", NAMES)
def test_docstring_names_its_source(name):
    doc = inspect.getdoc(load(name)) or ""
    assert "Reference" in doc and "Parameters" in doc and "Returns" in doc
