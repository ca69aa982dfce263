"""Tests of optlab.kernels: accuracy of the vectorized exp, log-sum-exp, dispatch.

The exp reference is ``np.exp`` on ``np.longdouble`` inputs (x87 80-bit extended on
x86-64: 64-bit mantissa, so its own error is ~2^-11 of a float64 ulp). Errors are
measured in ulps of the binade that holds the exact result, and in smallest-subnormal
steps when the result is subnormal.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp as sp_logsumexp

from optlab.kernels import (
    exp_into,
    exp_scalar,
    log1pexp_into,
    logsumexp,
    logsumexp_1d,
    logsumexp_cols,
    logsumexp_rows,
    vexp,
)

pytestmark = pytest.mark.skipif(
    np.finfo(np.longdouble).nmant < 63, reason="the exp reference needs an extended long double"
)

TINY = np.finfo(np.float64).smallest_normal
STEP = np.finfo(np.float64).smallest_subnormal
LN2 = float(np.log(2.0))
X_OVERFLOW = 709.782712893384  # ~ log(DBL_MAX)
X_UNDERFLOW = -745.1332191019412  # ~ log(2^-1075): below it exp rounds to 0


def _exp_errors(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Errors of ``y ~ exp(x)`` in float64 units, and the correctly rounded reference.

    Units: an ulp of the exact result's binade for normal results, the smallest subnormal
    step for subnormal ones; 0 where the reference overflows (checked separately).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        ref = np.exp(x.astype(np.longdouble))
        r64 = ref.astype(np.float64)
        finite = np.isfinite(r64)
        r = np.where(finite, r64, 1.0)
        # the ulp of the binade that holds the exact value (the lower one when it lies
        # just below a power of two that it rounds up to)
        ulp = np.where(ref < r, np.spacing(np.nextafter(r, 0.0)), np.spacing(r))
        unit = np.where(r64 >= TINY, ulp, STEP)
        err = np.abs(y.astype(np.longdouble) - ref) / unit.astype(np.longdouble)
    return np.where(finite, err, 0.0).astype(np.float64), r64


def _check_exp(x: np.ndarray, max_units: float) -> float:
    y = vexp(x)
    err, r64 = _exp_errors(x, y)
    assert np.array_equal(np.isinf(y), np.isinf(r64)), "overflow to inf differs from the reference"
    with np.errstate(over="ignore"):
        assert np.array_equal(np.isinf(y), np.isinf(np.exp(x)))
    assert not np.any(np.isnan(y))
    worst = float(err.max())
    assert worst <= max_units, f"max error {worst} > {max_units}"
    return worst


# ------------------------------------------------------------------------------- exp


def test_exp_full_range_random_within_075_ulp():
    rng = np.random.default_rng(20240601)
    x = rng.uniform(-745.2, 709.8, 1_000_000)
    y = vexp(x)
    err, r64 = _exp_errors(x, y)
    normal = r64 >= TINY
    # The contract is 1 ulp; measured 0.73, so 0.75 guards against a regression.
    assert float(err[normal & np.isfinite(r64)].max()) <= 0.75
    assert float(err[~normal].max()) <= 1.0  # subnormal results, in subnormal steps
    assert np.mean(y == r64) > 0.97  # correctly rounded almost everywhere (measured 98.2%)
    assert np.array_equal(np.isinf(y), np.isinf(r64))


def test_exp_near_zero():
    rng = np.random.default_rng(1)
    tiny = np.array([0.0, -0.0, STEP, -STEP, TINY, -TINY, 1e-300, -1e-300, 2.0**-53, -(2.0**-53), 2.0**-54])
    x = np.concatenate([tiny, np.linspace(-1e-3, 1e-3, 20001), rng.uniform(-1e-8, 1e-8, 10_000)])
    _check_exp(x, 0.75)
    assert vexp(tiny[:2]).tolist() == [1.0, 1.0]


def test_exp_at_range_reduction_boundaries():
    # x = (k + 1/2) ln2 is where n = round(x / ln2) jumps and |r| is largest (ln2/2).
    k = np.arange(-1070, 1023)
    centers = (k + 0.5) * LN2
    offsets = np.arange(-64, 65)
    x = (centers[:, None] + offsets[None, :] * np.spacing(np.abs(centers))[:, None]).ravel()
    x = x[(x > -745.2) & (x < 709.8)]
    _check_exp(x, 1.0)
    r = np.linspace(-LN2 / 2 * (1 + 1e-9), LN2 / 2 * (1 + 1e-9), 200_001)
    assert _check_exp(r, 0.75) > 0.5  # the test data does reach the hard cases


def test_exp_subnormal_range_within_one_step():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(-745.13, -708.4, 200_000), np.linspace(-745.14, -744.0, 20_001)])
    y = vexp(x)
    ref = np.exp(x.astype(np.longdouble))
    err_steps = np.abs(y.astype(np.longdouble) - ref) / np.longdouble(STEP)
    assert float(err_steps.max()) <= 1.0
    assert np.all(y < 2.3e-308)
    assert np.any(y == 0.0) and np.any((y > 0) & (y < TINY))


def test_exp_underflow_edge_matches_numpy():
    x = X_UNDERFLOW + np.arange(-2000, 2001) * np.spacing(745.0)
    y = vexp(x)
    assert np.array_equal(y == 0.0, np.exp(x) == 0.0)
    assert np.all(np.abs(y - np.exp(x)) <= STEP)
    assert y[0] == 0.0 and y[-1] == STEP


def test_exp_overflow_edge_matches_numpy_exactly():
    x = X_OVERFLOW + np.arange(-1000, 1001) * np.spacing(X_OVERFLOW)
    y = vexp(x)
    with np.errstate(over="ignore"):
        ref = np.exp(x)
    assert np.array_equal(np.isinf(y), np.isinf(ref))
    last_finite = x[np.isfinite(ref)].max()
    assert x[np.isfinite(y)].max() == last_finite
    assert vexp(np.array([np.nextafter(last_finite, np.inf)]))[0] == np.inf
    finite = np.isfinite(ref)
    assert np.all(np.abs(y[finite] - ref[finite]) <= np.spacing(ref[finite]))
    _check_exp(x, 1.0)


def test_exp_special_values():
    x = np.array([np.nan, np.inf, -np.inf, 710.0, -746.0, -0.0, 0.0, 1.0, -1.0, 1e308, -1e308, 709.0])
    y = vexp(x)
    assert np.isnan(y[0])
    assert y[1] == np.inf and y[3] == np.inf and y[9] == np.inf
    assert y[2] == 0.0 and y[4] == 0.0 and y[10] == 0.0
    assert y[5] == 1.0 and y[6] == 1.0
    assert y[7] == np.exp(1.0) and y[8] == np.exp(-1.0)
    assert np.isfinite(y[11]) and abs(y[11] - np.exp(709.0)) <= np.spacing(np.exp(709.0))
    # the scalar is callable from Python too, and agrees with the array kernel
    assert exp_scalar(1.0) == y[7]
    assert np.isnan(exp_scalar(np.nan)) and exp_scalar(-np.inf) == 0.0 and exp_scalar(np.inf) == np.inf


def test_exp_float32():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-104, 89, 100_000), [np.nan, np.inf, -np.inf, 88.8, -105.0, 0.0, -0.0]]).astype(
        np.float32
    )
    y = vexp(x)
    assert y.dtype == np.float32
    with np.errstate(over="ignore"):
        ref = np.exp(x.astype(np.float64)).astype(np.float32)  # float64 exp rounded once more
    assert np.array_equal(y, ref, equal_nan=True)
    assert np.isnan(y[-7]) and y[-6] == np.inf and y[-5] == 0.0 and y[-4] == np.inf
    assert y[-3] == 0.0 and y[-2] == 1.0 and y[-1] == 1.0
    out = np.empty_like(x)
    exp_into(x, out)
    assert np.array_equal(out, y, equal_nan=True)


def test_vexp_shapes_layouts_and_in_place():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(30, 40))
    for x in (a, a.T, a[::2, ::-3], np.full((), 0.5), np.empty((0, 3))):
        y = vexp(x)
        assert type(y) is np.ndarray and y.shape == x.shape and y.dtype == x.dtype
        assert np.allclose(y, np.exp(x), rtol=5e-16, atol=0)
    z = rng.normal(size=1000)
    expected = vexp(z)
    exp_into(z, z)  # x and out may be the same array
    assert np.array_equal(z, expected)
    with pytest.raises(ValueError, match="length"):
        exp_into(np.ones(3), np.empty(2))


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_exp_property_any_float_within_one_unit(v):
    """For every float64: nan -> nan, overflow exactly where np.exp overflows, else <= 1 unit."""
    x = np.array([v, -v, v / 1e3, v * 1e-300])
    y = vexp(x)
    assert np.array_equal(np.isnan(y), np.isnan(x))
    ok = ~np.isnan(x)
    err, r64 = _exp_errors(x[ok], y[ok])
    assert np.array_equal(np.isinf(y[ok]), np.isinf(r64))
    assert float(err.max(initial=0.0)) <= 1.0
    assert np.all(y[ok] >= 0.0)


# ------------------------------------------------------------------------- softplus


def test_log1pexp_accuracy_and_special_values():
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.normal(scale=20, size=100_000), np.linspace(-800, 800, 10_001)])
    out = np.empty_like(x)
    log1pexp_into(x, out)
    xl = x.astype(np.longdouble)
    ref = np.where(xl > 0, xl + np.log1p(np.exp(-xl)), np.log1p(np.exp(xl)))
    pos = ref > TINY
    rel = np.abs(out.astype(np.longdouble) - ref)[pos] / ref[pos]
    assert float(rel.max()) <= 2.5 * np.finfo(np.float64).eps
    sv = np.array([np.nan, np.inf, -np.inf, 0.0, 1000.0, -1000.0, -745.0])
    o = np.empty_like(sv)
    log1pexp_into(sv, o)
    assert np.isnan(o[0]) and o[1] == np.inf and o[2] == 0.0
    assert o[3] == np.log(2.0) and o[4] == 1000.0 and o[5] == 0.0 and o[6] == np.exp(-745.0)
    x32 = rng.normal(scale=30, size=1000).astype(np.float32)
    o32 = np.empty_like(x32)
    log1pexp_into(x32, o32)
    assert np.allclose(o32, np.logaddexp(0.0, x32.astype(np.float64)), rtol=1e-7, atol=0)


# ----------------------------------------------------------------------- logsumexp


def _nasty_matrix(seed: int, m: int = 40, n: int = 57) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(scale=30.0, size=(m, n))
    a[rng.random((m, n)) < 0.05] = 1e300
    a[rng.random((m, n)) < 0.05] = -1e300
    a[rng.random((m, n)) < 0.05] = -np.inf
    a[3, :] = -np.inf  # all -inf row
    a[5, :] = a[5, 0]  # all ties
    a[7, 11] = np.inf  # a row with +inf
    a[9, 2] = np.nan  # a nan row
    a[11, :] = -np.inf
    a[11, 4] = 3.0  # one finite entry: the result is that entry
    a[13, :] = 1e300
    a[13, 6] = -np.inf
    a[15, 20] = 0.0
    a[15, 21] = -40.0  # exp(-40) is below eps: needs the log1p form
    a[15, np.arange(n) > 21] = -np.inf
    a[15, np.arange(n) < 20] = -np.inf
    return a


def _check_rows(a: np.ndarray, ref: np.ndarray, got: np.ndarray) -> None:
    np.testing.assert_allclose(got, ref, rtol=1e-14, atol=0)
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    assert np.array_equal(np.isposinf(got), np.isposinf(ref))
    assert np.array_equal(np.isneginf(got), np.isneginf(ref))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_logsumexp_rows_cols_1d_match_scipy():
    a = _nasty_matrix(6)
    ref_rows = sp_logsumexp(a, axis=1)
    assert np.isneginf(ref_rows[3]) and np.isposinf(ref_rows[7]) and np.isnan(ref_rows[9])
    assert ref_rows[11] == 3.0 and ref_rows[13] == 1e300 and 0 < ref_rows[15] < 1e-17
    rows = np.empty(a.shape[0])
    logsumexp_rows(a, rows)
    _check_rows(a, ref_rows, rows)
    assert abs(rows[15] - np.log1p(np.exp(-40.0))) <= 1e-15 * rows[15]

    at = np.ascontiguousarray(a.T)
    cols = np.empty(at.shape[1])
    logsumexp_cols(at, cols)
    _check_rows(a, ref_rows, cols)

    for i in (0, 3, 7, 9, 11, 13, 15):
        got = logsumexp_1d(a[i])
        assert got == rows[i] or (np.isnan(got) and np.isnan(rows[i]))
    assert logsumexp_1d(np.empty(0)) == -np.inf
    assert np.isnan(logsumexp_1d(np.array([np.nan, -np.inf])))
    assert np.isnan(logsumexp_1d(np.array([np.inf, np.nan])))
    assert logsumexp_1d(np.array([np.inf, -np.inf])) == np.inf
    empty_cols = np.empty(4)
    logsumexp_cols(np.empty((0, 4)), empty_cols)
    assert np.all(empty_cols == -np.inf)
    with pytest.raises(ValueError, match="length"):
        logsumexp_rows(a, np.empty(3))


def test_logsumexp_large_random_rows_and_cols():
    rng = np.random.default_rng(7)
    a = rng.normal(scale=50.0, size=(300, 1037)) + rng.uniform(-500, 500, size=(300, 1))
    rows = np.empty(300)
    logsumexp_rows(a, rows)
    np.testing.assert_allclose(rows, sp_logsumexp(a, axis=1), rtol=1e-14)
    cols = np.empty(1037)
    logsumexp_cols(a, cols)
    np.testing.assert_allclose(cols, sp_logsumexp(a, axis=0), rtol=1e-14)
    v = rng.normal(scale=10.0, size=100_003)
    assert abs(logsumexp_1d(v) - sp_logsumexp(v)) <= 1e-14 * abs(sp_logsumexp(v))
    a32 = a.astype(np.float32)
    r32 = np.empty(300, dtype=np.float32)
    logsumexp_rows(a32, r32)
    np.testing.assert_allclose(r32, sp_logsumexp(a32.astype(np.float64), axis=1), rtol=1e-7)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, (0, 1), (1, 2), (0, 2), ()])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_api_axes_match_scipy(axis, keepdims):
    rng = np.random.default_rng(8)
    x = rng.normal(scale=20.0, size=(6, 7, 9))
    x[1, 2, :] = -np.inf
    x[2, :, 3] = np.inf
    got = logsumexp(x, axis=axis, keepdims=keepdims)
    if axis == ():
        ref = x.copy()
    else:
        ref = sp_logsumexp(x, axis=axis, keepdims=keepdims)
    assert type(got) is np.ndarray and got.shape == np.shape(ref) and got.dtype == np.float64
    np.testing.assert_allclose(got, ref, rtol=1e-14)
    got32 = logsumexp(x.astype(np.float32), axis=axis, keepdims=keepdims)
    assert got32.dtype == np.float32 and got32.shape == got.shape


# ------------------------------------------------------------------------- dispatch


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_dispatch_array_api_strict_matches_numpy():
    xps = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(9)
    a = _nasty_matrix(10, 20, 31)
    a[9, 2] = 0.0  # (nan handled below separately)
    a = np.clip(a, -700, 700)  # keep exp finite for the element-wise comparison
    xa = xps.asarray(a)
    e = vexp(xa)
    assert isinstance(e, type(xa)) and e.dtype == xps.float64 and e.shape == a.shape
    np.testing.assert_allclose(np.from_dlpack(e), vexp(a), rtol=4.5e-16, atol=0)
    b = _nasty_matrix(11, 20, 31)
    xb = xps.asarray(b)
    for axis in (None, 0, 1):
        for keepdims in (False, True):
            got = logsumexp(xb, axis=axis, keepdims=keepdims)
            assert isinstance(got, type(xb))
            ref = logsumexp(b, axis=axis, keepdims=keepdims)
            assert got.shape == ref.shape
            np.testing.assert_allclose(np.from_dlpack(got), ref, rtol=1e-14)
    x32 = xps.asarray(rng.normal(size=(5, 8)).astype(np.float32))
    got32 = logsumexp(x32, axis=1)
    assert got32.dtype == xps.float32
    np.testing.assert_allclose(np.from_dlpack(got32), logsumexp(np.from_dlpack(x32), axis=1), rtol=1e-6)


def test_dispatch_numpy_integer_arrays_use_the_namespace():
    x = np.arange(-3, 4)
    np.testing.assert_allclose(vexp(x), np.exp(x.astype(np.float64)), rtol=1e-15)
    np.testing.assert_allclose(float(logsumexp(x)), sp_logsumexp(x), rtol=1e-15)


def test_import_compiles_nothing():
    code = "import optlab.kernels as k; assert not k.exp_into.signatures and not k.logsumexp_rows.signatures"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="checks x86 assembly")
def test_exp_loop_is_vectorized(tmp_path):
    """The exp_into loop must compile to packed (SIMD) double multiplies, not scalar ones.

    Run in a subprocess with an empty cache directory: Numba cannot show the assembly of
    a kernel loaded from its on-disk cache.
    """
    code = (
        "import numpy as np, optlab.kernels as k\n"
        "x = np.ones(64); k.exp_into(x, x.copy())\n"
        "asm = k.exp_into.inspect_asm(k.exp_into.signatures[0])\n"
        "print(asm.count('mulpd'), asm.count('mulsd'))\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert res.returncode == 0, res.stderr
    packed, scalar = map(int, res.stdout.split())
    assert packed >= 15, f"exp_into did not vectorize: {packed} packed vs {scalar} scalar multiplies"
