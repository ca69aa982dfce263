"""Array dispatch helpers."""

import array_api_strict as xps
import numpy as np
import pytest

from optlab.backend import as_float_array, cupy, dtype_name, namespace, numba_applies, to_numpy


def test_namespace_follows_inputs():
    assert "numpy" in namespace(np.ones(2)).__name__
    assert namespace(xps.ones(2)).__name__.startswith("array_api_strict")
    with pytest.raises(TypeError):
        namespace(np.ones(2), xps.ones(2))


def test_numba_applies_only_to_real_numpy_floats():
    assert numba_applies(np.ones(3), np.ones(2, dtype=np.float32), 1.0, None)
    assert not numba_applies(xps.ones(3))
    assert not numba_applies(np.ones(3, dtype=np.int64))
    assert not numba_applies(np.ma.ones(3))
    assert not numba_applies(None)


def test_to_numpy_and_dtype_name():
    a = xps.asarray([1.0, 2.0], dtype=xps.float32)
    out = to_numpy(a)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert dtype_name(a) == "float32" and dtype_name(np.ones(1)) == "float64"


def test_cupy_is_optional():
    cp = cupy()
    assert cp is None or hasattr(cp, "ndarray")


def test_as_float_array_validates():
    assert as_float_array(np.arange(3), "x0").dtype == np.float64
    with pytest.raises(ValueError, match="x0 must have length 4"):
        as_float_array(np.ones(3), "x0", ndim=1, size=4)
    with pytest.raises(ValueError, match="x0 contains NaN"):
        as_float_array(np.array([1.0, np.inf]), "x0")
    with pytest.raises(TypeError, match="x0"):
        as_float_array("abc", "x0")
    with pytest.raises(TypeError, match="x0"):
        as_float_array(np.ones(2, dtype=bool), "x0")
