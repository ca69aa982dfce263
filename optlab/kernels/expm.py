"""A vectorizable, accurate ``exp`` and the log-sum-exp kernels built on it.

Numba on this kind of machine has no SVML, so ``math.exp`` inside an ``@njit`` loop is a
scalar libm call and LLVM cannot vectorize the loop around it. :func:`exp_scalar` is a
branch-free exp (arithmetic, ternary selects and two bit casts only) that LLVM inlines and
vectorizes; every kernel in this module calls it.

Accuracy (checked in ``tests/test_kernels.py`` against ``np.exp`` on ``np.longdouble``):
about 0.7 ulp in the normal range, under 0.8 of the smallest subnormal step in the
subnormal range, and the overflow threshold is exactly that of ``np.exp``.

Everything here is compiled with ``fastmath=False``: fused or reassociated operations
would break the error-free transformations the accuracy argument relies on. Nothing is
compiled at import; each kernel compiles on its first call for the argument types it gets
and is cached on disk (``cache=True``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from optlab.backend import namespace, numba_applies

__all__ = [
    "exp_into",
    "exp_scalar",
    "log1pexp_into",
    "logsumexp",
    "logsumexp_1d",
    "logsumexp_cols",
    "logsumexp_rows",
    "vexp",
]


# --------------------------------------------------------------------------------------
# Bit casts. Numba has no scalar reinterpret-cast, so emit the LLVM ``bitcast`` directly;
# LLVM treats it as free and vectorizes it (a lane-wise reinterpretation of a register).
# --------------------------------------------------------------------------------------


@intrinsic
def _int64_as_float64(typingctx, bits):
    """Reinterpret the 64 bits of an int64 as a float64 (no conversion)."""
    if not (isinstance(bits, types.Integer) and bits.bitwidth == 64):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(bits), codegen


@intrinsic
def _float64_as_int64(typingctx, value):
    """Reinterpret the 64 bits of a float64 as an int64 (no conversion)."""
    if value != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(value), codegen


# --------------------------------------------------------------------------------------
# exp
# --------------------------------------------------------------------------------------

_LOG2E = 1.4426950408889634  # 1/ln 2 rounded to float64
# Cody-Waite split of ln 2: _LN2_HI keeps 32 significant bits (its 21 low mantissa bits
# are zero), so n * _LN2_HI is exact for |n| < 2^21 and x - n * _LN2_HI is exact too;
# _LN2_HI + _LN2_LO equals ln 2 to about 2^-86 relative.
_LN2_HI = float.fromhex("0x1.62e42fee00000p-1")
_LN2_LO = float.fromhex("0x1.a39ef35793c76p-33")
# Adding 1.5 * 2^52 rounds any |y| < 2^51 to the nearest integer (ties to even) and
# leaves that integer n in the low mantissa bits: bits(y + _SHIFT) == _SHIFT_BITS + n.
_SHIFT = 6755399441055744.0
_SHIFT_BITS = 0x4338000000000000
# Inputs are clamped to [-_CLAMP, _CLAMP] (the result is 0 or inf well before that). It
# keeps |n| <= 1587, so both halves n1, n2 of the exponent satisfy |n_k| <= 794 and
# 2^n1, 2^n2 are normal numbers whose biased exponent fits the 11-bit field.
_CLAMP = 1100.0
# Taylor coefficients 1/k!, each correctly rounded (k! is exact in float64 for k <= 18).
# Degree 13 on |r| <= ln2/2 leaves a truncation error below 5e-18 (0.04 ulp).
_C2 = 1.0 / 2.0
_C3 = 1.0 / 6.0
_C4 = 1.0 / 24.0
_C5 = 1.0 / 120.0
_C6 = 1.0 / 720.0
_C7 = 1.0 / 5040.0
_C8 = 1.0 / 40320.0
_C9 = 1.0 / 362880.0
_C10 = 1.0 / 3628800.0
_C11 = 1.0 / 39916800.0
_C12 = 1.0 / 479001600.0
_C13 = 1.0 / 6227020800.0

_CHUNK = 512  # exp values are staged in a buffer of this many float64 (4 KiB, in L1)


@njit(inline="always", cache=True, fastmath=False)
def exp_scalar(x: float) -> float:
    """Branch-free ``exp`` of one float64, accurate to about 0.7 ulp on the whole range.

    Parameters
    ----------
    x : float
        The argument (float64; a float32 is widened first).

    Returns
    -------
    float
        ``exp(x)``: ``inf`` for ``x > 709.782712893384`` and ``x = inf``, ``0.0`` below
        ``-745.1332191019412`` and for ``-inf``, subnormal in between, ``nan`` for
        ``nan``.

    Notes
    -----
    Only arithmetic, ternary selects and bit casts, so a loop calling it vectorizes.

    1. Clamp ``x`` to ``[-1100, 1100]`` with selects (``nan`` fails both comparisons
       and becomes ``-1100``, so nothing undefined happens to it on the way).
    2. ``n = round(x / ln2)`` by the magic-constant addition; ``r = x - n ln2`` with
       the Cody-Waite split, ``r = hi - lo`` plus the exact rounding error ``dr`` of
       that subtraction (Fast2Sum), so ``r + dr`` is the reduced argument to ~2^-75.
    3. ``exp(r) = 1 + r + r^2 P(r)``: ``P`` (degree 11) by Estrin's scheme (short
       dependency chains, so the vectorized loop is throughput-bound, not latency-bound),
       then ``1 + r`` is split exactly into ``h1 + e1`` and the small terms are added
       to ``h1`` last, so only the final addition rounds at full weight.
    4. Scale by ``2^n = 2^n1 * 2^n2`` (``n1 = n >> 1``), each power of two built by
       writing ``n_k + 1023`` into the exponent field and bit-casting to float64. The
       first product is exact, so a subnormal or overflowing result is rounded once.
    """
    xc = x if x > -_CLAMP else -_CLAMP
    xc = xc if xc < _CLAMP else _CLAMP
    t = xc * _LOG2E + _SHIFT
    nf = t - _SHIFT
    n = _float64_as_int64(t) - _SHIFT_BITS
    hi = xc - nf * _LN2_HI
    lo = nf * _LN2_LO
    r = hi - lo
    dr = (hi - r) - lo
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    a0 = _C2 + _C3 * r
    a1 = _C4 + _C5 * r
    a2 = _C6 + _C7 * r
    a3 = _C8 + _C9 * r
    a4 = _C10 + _C11 * r
    a5 = _C12 + _C13 * r
    b0 = a0 + a1 * r2
    b1 = a2 + a3 * r2
    b2 = a4 + a5 * r2
    q = r2 * ((b0 + b1 * r4) + b2 * r8)
    h1 = 1.0 + r
    e1 = (1.0 - h1) + r
    y = h1 + (e1 + (q + dr))
    n1 = n >> 1
    n2 = n - n1
    s1 = _int64_as_float64((n1 + 1023) << 52)
    s2 = _int64_as_float64((n2 + 1023) << 52)
    res = (y * s1) * s2
    return res if x == x else x


@njit(cache=True, fastmath=False)
def exp_into(x: np.ndarray, out: np.ndarray) -> None:
    """Write ``exp(x)`` into ``out`` (1-D, float32 or float64; vectorized loop).

    float32 inputs are widened to float64, and the result is rounded to ``out``'s dtype.
    ``x`` and ``out`` may be the same array.
    """
    if out.shape[0] != x.shape[0]:
        raise ValueError("exp_into: out must have the length of x")
    for i in range(x.shape[0]):
        out[i] = exp_scalar(np.float64(x[i]))


@njit(cache=True, fastmath=False)
def log1pexp_into(x: np.ndarray, out: np.ndarray) -> None:
    """Write ``log(1 + exp(x))`` (softplus) into ``out``, stably for any ``x``.

    Uses ``max(x, 0) + log1p(exp(-|x|))``: no overflow, no cancellation, full relative
    accuracy for very negative ``x``; ``log_sigmoid(x) = -log1pexp(-x)``. The exp runs
    in a vectorized loop over a chunk buffer; the logarithm is a scalar ``math.log``
    (libm) call, so that second loop is not vectorized. ``log1p(u)`` is computed as
    ``log(w) - ((w - 1) - u) / w`` with ``w = fl(1 + u)``, which corrects the rounding
    of ``1 + u`` to first order (the error left is ``O(eps^2)``) and is twice as fast
    as Numba's ``math.log1p`` here.
    """
    n = x.shape[0]
    if out.shape[0] != n:
        raise ValueError("log1pexp_into: out must have the length of x")
    buf = np.empty(_CHUNK)
    for start in range(0, n, _CHUNK):
        length = min(_CHUNK, n - start)
        xs = x[start : start + length]
        os = out[start : start + length]
        for j in range(length):
            buf[j] = exp_scalar(-abs(np.float64(xs[j])))
        for j in range(length):
            v = np.float64(xs[j])
            u = buf[j]
            w = 1.0 + u
            os[j] = (v if v > 0.0 else 0.0) + (math.log(w) - ((w - 1.0) - u) / w)


# --------------------------------------------------------------------------------------
# log-sum-exp
#
# All variants compute, like scipy.special.logsumexp, with m the maximum, c the number of
# entries equal to m and t the sum of exp(x - m) over the other entries,
#     lse = log1p(t / c) + log(c) + m,
# which keeps full relative accuracy when one term dominates (lse ~ m + tiny). The shift
# used inside exp is m when m is finite and 0 otherwise, which gives, without branches:
# -inf for an empty or all -inf input, +inf if any entry is +inf, nan if any is nan.
# (c == 0 only when every entry is nan, and then t is nan too.)
# --------------------------------------------------------------------------------------


@njit(cache=True, fastmath=False)
def _max_8lanes(x):
    """Maximum of a 1-D array ignoring nan (``-inf`` if empty or all nan).

    Eight independent running maxima: the select-based max of a single accumulator is a
    serial chain that LLVM may not vectorize without ``fastmath`` (nan ordering).
    """
    n = x.shape[0]
    nb = n - n % 8
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = -np.inf
    for i in range(0, nb, 8):
        v = np.float64(x[i])
        m0 = v if v > m0 else m0
        v = np.float64(x[i + 1])
        m1 = v if v > m1 else m1
        v = np.float64(x[i + 2])
        m2 = v if v > m2 else m2
        v = np.float64(x[i + 3])
        m3 = v if v > m3 else m3
        v = np.float64(x[i + 4])
        m4 = v if v > m4 else m4
        v = np.float64(x[i + 5])
        m5 = v if v > m5 else m5
        v = np.float64(x[i + 6])
        m6 = v if v > m6 else m6
        v = np.float64(x[i + 7])
        m7 = v if v > m7 else m7
    for i in range(nb, n):
        v = np.float64(x[i])
        m0 = v if v > m0 else m0
    m0 = m1 if m1 > m0 else m0
    m2 = m3 if m3 > m2 else m2
    m4 = m5 if m5 > m4 else m4
    m6 = m7 if m7 > m6 else m6
    m0 = m2 if m2 > m0 else m0
    m4 = m6 if m6 > m4 else m4
    return m4 if m4 > m0 else m0


@njit(cache=True, fastmath=False)
def _lse_core(x, buf):
    """log-sum-exp of a 1-D array, using ``buf`` (float64, length ``_CHUNK``) as scratch.

    The exp loop only stores into ``buf`` and counts (an integer reduction), so LLVM
    vectorizes it; the float sum over ``buf`` then runs in eight independent lanes
    (without ``fastmath`` LLVM may not reorder a float reduction itself).
    """
    n = x.shape[0]
    if n == 0:
        return -np.inf
    m = _max_8lanes(x)
    sh = m if m - m == 0.0 else 0.0  # m if finite else 0
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    c = 0
    for start in range(0, n, _CHUNK):
        length = min(_CHUNK, n - start)
        xs = x[start : start + length]
        for j in range(length):
            v = np.float64(xs[j])
            e = exp_scalar(v - sh)
            eq = v == m
            buf[j] = 0.0 if eq else e
            c += 1 if eq else 0
        l8 = length - length % 8
        for j in range(0, l8, 8):
            s0 += buf[j]
            s1 += buf[j + 1]
            s2 += buf[j + 2]
            s3 += buf[j + 3]
            s4 += buf[j + 4]
            s5 += buf[j + 5]
            s6 += buf[j + 6]
            s7 += buf[j + 7]
        for j in range(l8, length):
            s0 += buf[j]
    t = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    cf = np.float64(c)
    # No branch on c here: a use of the count in a comparison after the loop stopped
    # LLVM from vectorizing the exp loop (observed with llvmlite 0.50 / LLVM 20).
    return math.log1p(t / cf) + math.log(cf) + m


@njit(cache=True, fastmath=False)
def logsumexp_1d(x: np.ndarray) -> float:
    """``log(sum(exp(x)))`` of a 1-D float32/float64 array, as a float64.

    Max-shifted, so no overflow or underflow of the sum. Returns ``-inf`` for an empty
    or all ``-inf`` input, ``+inf`` if any entry is ``+inf``, ``nan`` if any is ``nan``.
    """
    buf = np.empty(_CHUNK)
    return _lse_core(x, buf)


@njit(cache=True, fastmath=False)
def logsumexp_rows(A: np.ndarray, out: np.ndarray) -> None:
    """``out[i] = logsumexp(A[i, :])`` for a 2-D (C-contiguous) array ``A``."""
    if out.shape[0] != A.shape[0]:
        raise ValueError("logsumexp_rows: out must have length A.shape[0]")
    buf = np.empty(_CHUNK)
    for i in range(A.shape[0]):
        out[i] = _lse_core(A[i], buf)


@njit(cache=True, fastmath=False)
def _lse_cols_core(A, out, mx, sh, acc, cnt):
    """Column log-sum-exp of a 2-D array, streaming over its rows (two passes).

    Pass 1 takes the column maxima, pass 2 accumulates the shifted exponentials; both
    inner loops run along a row, so memory is read contiguously and the loops are
    element-wise over columns (vectorized, no reduction inside them). ``mx, sh, acc,
    cnt`` are float64 work arrays of length ``A.shape[1]``.

    A one-read alternative (blocks of 32 rows: block max, rescale the running sums by
    ``exp(old shift - new shift)``, then accumulate the block from cache) measured 0.60
    vs 0.55 G elements/s on 2000 x 2000 but 0.60 vs 0.72 on 20000 x 200 and 0.56 vs 0.59
    on 200 x 20000 (single core, matrix within the 32 MiB L3), so the simpler two-pass
    version is kept; the blocked one would win on matrices far larger than the L3.
    """
    nrows, ncols = A.shape
    if nrows == 0:
        for j in range(ncols):
            out[j] = -np.inf
        return
    for j in range(ncols):
        mx[j] = -np.inf
    for i in range(nrows):
        row = A[i]
        for j in range(ncols):
            v = np.float64(row[j])
            mx[j] = v if v > mx[j] else mx[j]
    for j in range(ncols):
        mj = mx[j]
        sh[j] = mj if mj - mj == 0.0 else 0.0
        acc[j] = 0.0
        cnt[j] = 0.0
    for i in range(nrows):
        row = A[i]
        for j in range(ncols):
            v = np.float64(row[j])
            e = exp_scalar(v - sh[j])
            eq = v == mx[j]
            acc[j] += 0.0 if eq else e
            cnt[j] += 1.0 if eq else 0.0
    for j in range(ncols):
        out[j] = math.log1p(acc[j] / cnt[j]) + math.log(cnt[j]) + mx[j]


@njit(cache=True, fastmath=False)
def logsumexp_cols(A: np.ndarray, out: np.ndarray) -> None:
    """``out[j] = logsumexp(A[:, j])`` for a 2-D (C-contiguous) array ``A``.

    Streams over the rows of ``A`` (contiguous reads) rather than striding down columns.
    """
    ncols = A.shape[1]
    if out.shape[0] != ncols:
        raise ValueError("logsumexp_cols: out must have length A.shape[1]")
    work = np.empty((4, ncols))
    _lse_cols_core(A, out, work[0], work[1], work[2], work[3])


@njit(cache=True, fastmath=False)
def _logsumexp_mid(A, out):
    """``out[p, j] = logsumexp(A[p, :, j])`` for a 3-D C-contiguous array."""
    ncols = A.shape[2]
    work = np.empty((4, ncols))
    for p in range(A.shape[0]):
        _lse_cols_core(A[p], out[p], work[0], work[1], work[2], work[3])


# --------------------------------------------------------------------------------------
# Public array API: Numba kernels for NumPy float arrays, array-API calls otherwise.
# --------------------------------------------------------------------------------------


def _c_contiguous(x: np.ndarray) -> np.ndarray:
    return x if x.flags.c_contiguous else np.array(x, order="C")


def vexp(x: Any) -> Any:
    """Element-wise exponential of an array of any array-API library.

    Parameters
    ----------
    x : array
        NumPy, CuPy, ``array_api_strict`` or any other array-API array.

    Returns
    -------
    array
        ``exp(x)``, same shape, dtype and array type as ``x`` (integer input gives
        float64).

    Notes
    -----
    A NumPy float32/float64 array goes through the vectorized Numba kernel
    :func:`exp_into` (about 0.7 ulp, computed in float64); anything else is passed to
    its own namespace's ``exp``.
    """
    if numba_applies(x):
        xc = _c_contiguous(x)
        out = np.empty(xc.shape, dtype=xc.dtype)
        exp_into(xc.reshape(-1), out.reshape(-1))
        return out
    xp = namespace(x)
    return xp.exp(_as_floating(x, xp))


def _as_floating(x: Any, xp: Any) -> Any:
    """``x`` itself if it has a floating dtype, else ``x`` converted to float64."""
    if xp.isdtype(x.dtype, ("real floating", "complex floating")):
        return x
    return xp.astype(x, xp.float64)


def _normalize_axes(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    norm = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of bounds for an array of dimension {ndim}")
        norm.append(a % ndim)
    if len(set(norm)) != len(norm):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(sorted(norm))


def _logsumexp_numpy(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    shape = x.shape
    kept = tuple(d for k, d in enumerate(shape) if k not in axes)
    kd_shape = tuple(1 if k in axes else d for k, d in enumerate(shape))
    out_shape = kd_shape if keepdims else kept
    if len(axes) == x.ndim:
        value = logsumexp_1d(_c_contiguous(x).reshape(-1))
        return np.full(out_shape, value, dtype=x.dtype)
    out = np.empty(kept, dtype=x.dtype)
    if len(axes) == 0:
        out[...] = x
    elif axes == tuple(range(axes[0], axes[-1] + 1)):  # one block of adjacent axes
        pre = math.prod(shape[: axes[0]])
        n = math.prod(shape[axes[0] : axes[-1] + 1])
        post = math.prod(shape[axes[-1] + 1 :])
        x3 = _c_contiguous(x).reshape(pre, n, post)
        if post == 1:
            logsumexp_rows(x3.reshape(pre, n), out.reshape(pre))
        elif pre == 1:
            logsumexp_cols(x3.reshape(n, post), out.reshape(post))
        else:
            _logsumexp_mid(x3, out.reshape(pre, post))
    else:  # scattered axes: move them last (one copy) and reduce rows
        rest = [k for k in range(x.ndim) if k not in axes]
        moved = np.ascontiguousarray(np.transpose(x, (*rest, *axes)))
        logsumexp_rows(moved.reshape(out.size, -1), out.reshape(-1))
    return out.reshape(out_shape)


def logsumexp(x: Any, axis: int | tuple[int, ...] | None = None, *, keepdims: bool = False) -> Any:
    """``log(sum(exp(x), axis))`` without overflow, for an array of any array-API library.

    Parameters
    ----------
    x : array
        NumPy, CuPy, ``array_api_strict`` or any other array-API array.
    axis : int or tuple of int, optional
        Axes to reduce; ``None`` (default) reduces all of them.
    keepdims : bool, optional
        Keep the reduced axes with length one.

    Returns
    -------
    array
        Same array type and dtype as ``x`` (a 0-d array when every axis is reduced).
        ``-inf`` where all reduced entries are ``-inf`` (or there are none, NumPy path),
        ``+inf`` where any is ``+inf``, ``nan`` where any is ``nan``.

    Notes
    -----
    Computes ``log1p(t / c) + log(c) + m`` with ``m`` the maximum, ``c`` how many
    entries equal it and ``t`` the sum of ``exp(x - m)`` over the others (as
    ``scipy.special.logsumexp`` does), which stays accurate when one term dominates.
    NumPy float32/float64 arrays use the Numba kernels (float64 arithmetic inside);
    other arrays use ``max``, ``exp``, ``where``, ``sum``, ``log1p`` and ``log`` of
    their own namespace.
    """
    if numba_applies(x):
        return _logsumexp_numpy(x, _normalize_axes(axis, x.ndim), keepdims)
    xp = namespace(x)
    x = _as_floating(x, xp)
    m = xp.max(x, axis=axis, keepdims=True)
    sh = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    eq = x == m
    e = xp.where(eq, xp.zeros_like(x), xp.exp(x - sh))
    t = xp.sum(e, axis=axis, keepdims=keepdims)
    c = xp.sum(xp.astype(eq, x.dtype), axis=axis, keepdims=keepdims)
    return xp.log1p(t / c) + xp.log(c) + xp.reshape(m, t.shape)
