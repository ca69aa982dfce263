"""Numba kernel of :func:`optlab.classification._passes.data_pass`: one fused read of ``Z``.

Same numbers as the generic pass (see the mode table in :mod:`optlab.classification._passes`)
for NumPy float32/float64 ``Z`` of shape ``(n, d)`` (C-contiguous) and ``phi`` of shape
``(d,)``, reading ``Z`` from memory once per call. Everything is accumulated in float64,
also for float32 data (a float32 product is exact in float64, so the margins of float32
data are *more* accurate than the generic float32 ``Z @ phi``); ``g`` is rounded to
``Z``'s dtype at the end.

The rows are taken in small blocks (16 or 32 rows, see :func:`_block_rows`), each in
three steps while the block stays in L1:

1. the margins ``m_i = z_i . phi`` (the only read of the rows from memory; four rows at a
   time share the loads of ``phi``) and ``min m_i``;
2. per-row weights, loss terms and ``#{m_i <= 0}`` (ties count: no eps) for the whole
   block in branch-free loops that LLVM vectorizes across rows: one
   :func:`~optlab.kernels.expm.exp_scalar` ``u = exp(-|t|)`` (``t = s m``) gives
   ``sigma(-t)`` (``u / (1 + u)`` or ``1 / (1 + u)``), the loss term
   ``log(1 + e^-t) = max(-t, 0) + log1p(u)`` and the log-weight
   ``log sigma(-t) = -(max(t, 0) + log1p(u))``; nothing overflows for any ``gamma``;
3. ``g += w_i z_i`` over the block, eight or four rows per sweep of ``g``, while the
   rows two blocks ahead are prefetched.

Step 2 is vectorized across rows because at small ``d`` the per-row exp and log would
otherwise dominate (measured: about 15 ns per row with scalar calls against about 2 ns,
while streaming a row of 20 float64 takes about 5 ns). ``log1p`` on ``[0, 1]`` is
therefore :func:`_log1p_unit`, an arithmetic-only series that vectorizes like
``exp_scalar``. The loops over the columns of a row are emitted as explicit LLVM vector
code (see the section comment below).

Compiled with ``fastmath=False`` (the exp and log1p error analyses rely on IEEE
rounding); every sum has a fixed order (fixed lanes, fixed blocks), so the result
depends on nothing but the data: deterministic, single thread. Nothing compiles at
import; the kernel compiles on first use per dtype (about 3.5 s) and is cached on disk.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from optlab.classification._passes import BATCH, LOGISTIC, NORMALIZED, NORMALIZED_BATCH, SINGLE, PassResult
from optlab.kernels.expm import exp_scalar

__all__ = ["data_pass"]

_LANES = 8  # float64 lanes of the vectors of the column loops (one AVX-512 register)

# Rows per block (see _block_rows): about _BLOCK_TARGET bytes, between _MIN_ROWS and
# _MAX_ROWS, rounded down to a multiple of 8 (and fewer rows when _MIN_ROWS rows would
# exceed _BLOCK_BYTES, for large d). Small blocks let the out-of-order core overlap the
# memory reads of one block with the arithmetic of the previous one; the per-block
# overheads favour large ones. Measured on the bench machine (AMD EPYC, AVX-512,
# benchmarks/bench_lr_gd.py), LOGISTIC: d = 20: 48 rows 6.7 ms, 32 rows 7.3, 96 rows 9.0;
# d = 100: 16 rows 2.34 ms, 8 rows 2.42, 32 rows 3.4.
_BLOCK_TARGET = 8192
_MIN_ROWS = 16
_MAX_ROWS = 48
_BLOCK_BYTES = 65536
_SMALL_D = 64  # up to here eight rows per sweep of g, beyond four
# Software prefetch two blocks ahead, for rows of at most _PREFETCH_MAX_BYTES: it keeps
# memory reads in flight while a block is being computed on (measured: d = 100,
# 4.5 -> 2.3 ms per pass; d = 20 with 32-row blocks, 9.5 -> 7.1 ms, BATCH 15.0 -> 8.8 ms). Longer rows
# are streamed well by the hardware prefetcher alone.
_PREFETCH_BLOCKS = 2
_PREFETCH_MAX_BYTES = 8192

# Normalized mode: the running reference M of the log-weights moves only when a block's
# maximum exceeds it by more than this many nats (see _pass).
_RESCALE_NATS = 20.0

# 1 / (2k + 1), k = 1..16: log1p(u) = 2 atanh(s) = 2 s (1 + sum_k s^(2k) / (2k + 1)).
_A1 = 1.0 / 3.0
_A2 = 1.0 / 5.0
_A3 = 1.0 / 7.0
_A4 = 1.0 / 9.0
_A5 = 1.0 / 11.0
_A6 = 1.0 / 13.0
_A7 = 1.0 / 15.0
_A8 = 1.0 / 17.0
_A9 = 1.0 / 19.0
_A10 = 1.0 / 21.0
_A11 = 1.0 / 23.0
_A12 = 1.0 / 25.0
_A13 = 1.0 / 27.0
_A14 = 1.0 / 29.0
_A15 = 1.0 / 31.0
_A16 = 1.0 / 33.0


@njit(inline="always", cache=True, fastmath=False)
def _log1p_unit(u: float) -> float:
    """``log(1 + u)`` for ``0 <= u <= 1`` (float64), branch-free, within 2 ulp.

    ``log1p(u) = 2 atanh(s)`` with ``s = u / (2 + u)`` in ``[0, 1/3]``:
    ``2 s (1 + s^2/3 + s^4/5 + ...)``. Every term is positive (no cancellation) and the
    first omitted one, ``s^34 / 35``, is below ``1e-18`` of the sum for ``s <= 1/3``. The
    error is that of ``h = 2 s = 2u / (2 + u)`` (two roundings, about 1 ulp) plus the final
    addition; the polynomial in ``x = s^2`` (degree 15) is evaluated by Estrin's scheme.
    ``2u`` is exact, so a subnormal ``u`` gives ``u`` exactly and ``u = 0`` gives ``0``.
    """
    h = (u + u) / (2.0 + u)
    x = (h * h) * 0.25
    x2 = x * x
    x4 = x2 * x2
    x8 = x4 * x4
    a0 = _A1 + _A2 * x
    a1 = _A3 + _A4 * x
    a2 = _A5 + _A6 * x
    a3 = _A7 + _A8 * x
    a4 = _A9 + _A10 * x
    a5 = _A11 + _A12 * x
    a6 = _A13 + _A14 * x
    a7 = _A15 + _A16 * x
    b0 = a0 + a1 * x2
    b1 = a2 + a3 * x2
    b2 = a4 + a5 * x2
    b3 = a6 + a7 * x2
    p = (b0 + b1 * x4) + (b2 + b3 * x4) * x8
    return h + h * (x * p)


# --------------------------------------------------------------------------------------
# Vector code for the two loops over the columns of a row. Numba runs LLVM's loop
# vectorizer but not its SLP vectorizer (NUMBA_SLP_VECTORIZE is off by default), so
#   - a dot product written in Python compiles to scalar code: without fastmath the loop
#     vectorizer may not reorder a float sum, and eight hand-written lanes need SLP;
#   - an element-wise loop over d = 20 columns stays scalar too (LLVM's vector body wants
#     32 iterations with AVX-512).
# The intrinsics below emit the vector loops directly: columns in steps of 8, then one
# step of 4 if at least 4 remain, then one at a time. Plain fmul/fadd (no FMA
# contraction, no reassociation), so each result is a fixed function of its operands.
# --------------------------------------------------------------------------------------

_I32 = ir.IntType(32)


def _halves(builder, v, width):
    """The low and the high half of the vector ``v`` of ``width`` entries."""
    half = width // 2
    lo = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(_I32, half), list(range(half))))
    hi = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(_I32, half), list(range(half, width))))
    return lo, hi


def _splat(builder, x, width):
    """A vector of ``width`` copies of the scalar ``x``."""
    vec = ir.VectorType(x.type, width)
    v = builder.insert_element(ir.Constant(vec, ir.Undefined), x, ir.Constant(_I32, 0))
    return builder.shuffle_vector(v, ir.Constant(vec, ir.Undefined), ir.Constant(ir.VectorType(_I32, width),
                                                                               [0] * width))


def _column_loops(builder, intp, d, step):
    """Cover the columns ``0 .. d-1`` by calls ``step(j, width)``.

    A loop over whole vectors of ``_LANES``, one 4-wide step if at least 4 columns remain,
    then the last columns one at a time (``width = 1``).
    """
    lanes = ir.Constant(intp, _LANES)
    d_vec = builder.sub(d, builder.srem(d, lanes))
    with cgutils.for_range_slice(builder, ir.Constant(intp, 0), d_vec, lanes) as (j, _):
        step(j, _LANES)
    four = builder.icmp_signed(">=", builder.sub(d, d_vec), ir.Constant(intp, 4))
    with builder.if_then(four):
        step(d_vec, 4)
    rest = builder.select(four, builder.add(d_vec, ir.Constant(intp, 4)), d_vec)
    with cgutils.for_range_slice(builder, rest, d, ir.Constant(intp, 1)) as (j, _):
        step(j, 1)


def _load(context, builder, base, j, elt, width):
    """``width`` entries (or a scalar for width 1) from ``base[j:]``, widened to float64."""
    dbl = ir.DoubleType()
    typ = elt if width == 1 else ir.VectorType(elt, width)
    v = builder.load(builder.gep(base, [j], source_etype=elt), align=context.get_abi_sizeof(elt), typ=typ)
    if elt != dbl:
        v = builder.fpext(v, dbl if width == 1 else ir.VectorType(dbl, width))
    return v


def _is_matrix(Z):
    return isinstance(Z, types.Array) and Z.ndim == 2 and Z.layout == "C" and Z.dtype in (types.float32,
                                                                                          types.float64)


def _is_f64_vector(x):
    return isinstance(x, types.Array) and x.ndim == 1 and x.layout == "C" and x.dtype == types.float64


def _dot_codegen(context, builder, signature, args):
    """Dot products of ``nrows`` consecutive rows ``Z[i + r]`` with ``phi`` (see :func:`_row_dot`).

    The rows share the loads of ``phi``; each row has its own accumulators and the same
    order of operations as a single row, so a margin never depends on its neighbours.
    """
    zty, ity, pty = signature.args
    z = context.make_array(zty)(context, builder, args[0])
    p = context.make_array(pty)(context, builder, args[2])
    intp = context.get_value_type(types.intp)
    dbl = ir.DoubleType()
    elt = context.get_data_type(zty.dtype)
    d = builder.extract_value(z.shape, 1)
    nrows = signature.return_type.count if isinstance(signature.return_type, types.UniTuple) else 1
    first = builder.mul(context.cast(builder, args[1], ity, types.intp), d)
    rows = [builder.gep(z.data, [builder.add(first, builder.mul(ir.Constant(intp, r), d))], source_etype=elt)
            for r in range(nrows)]
    vd = ir.VectorType(dbl, _LANES)
    v4 = ir.VectorType(dbl, 4)
    acc = {
        _LANES: [cgutils.alloca_once_value(builder, ir.Constant(vd, [0.0] * _LANES)) for _ in rows],
        4: [cgutils.alloca_once_value(builder, ir.Constant(v4, [0.0] * 4)) for _ in rows],
        1: [cgutils.alloca_once_value(builder, ir.Constant(dbl, 0.0)) for _ in rows],
    }
    vtype = {_LANES: vd, 4: v4, 1: dbl}

    def step(j, width):
        pv = _load(context, builder, p.data, j, dbl, width)
        for r, row in enumerate(rows):
            prod = builder.fmul(_load(context, builder, row, j, elt, width), pv)
            target = acc[width][r]
            builder.store(builder.fadd(builder.load(target, typ=vtype[width]), prod), target)

    _column_loops(builder, intp, d, step)
    out = []
    for r in range(nrows):
        lo, hi = _halves(builder, builder.load(acc[_LANES][r], typ=vd), _LANES)
        v = builder.fadd(builder.fadd(lo, hi), builder.load(acc[4][r], typ=v4))
        lo, hi = _halves(builder, v, 4)
        v = builder.fadd(lo, hi)
        lo, hi = _halves(builder, v, 2)
        total = builder.extract_element(builder.fadd(lo, hi), ir.Constant(_I32, 0))
        out.append(builder.fadd(total, builder.load(acc[1][r], typ=dbl)))
    if nrows == 1:
        return out[0]
    return context.make_tuple(builder, signature.return_type, out)


@intrinsic
def _row_dot(typingctx, Z, i, phi):
    """``sum_j Z[i, j] * phi[j]`` in float64 (``Z`` C-contiguous float32/float64, ``phi`` float64).

    Lane ``k`` of an 8-wide accumulator sums the products with ``j = k (mod 8)`` below
    ``d8 = d - d % 8``; its halves are added (lanes ``0-3`` + ``4-7``), then the 4-wide
    product of columns ``d8 .. d8+3`` if those exist, then the halves again twice
    (``(0,1) + (2,3)``, ``0 + 1``), then the sum, in order, of the last ``d % 4``
    products. float32 entries are widened exactly before the product.
    """
    if not (_is_matrix(Z) and _is_f64_vector(phi) and isinstance(i, types.Integer)):
        return None
    return types.float64(Z, i, phi), _dot_codegen


@intrinsic
def _row_dot4(typingctx, Z, i, phi):
    """The margins of rows ``i .. i+3`` as a 4-tuple, each exactly as :func:`_row_dot` computes it."""
    if not (_is_matrix(Z) and _is_f64_vector(phi) and isinstance(i, types.Integer)):
        return None
    return types.UniTuple(types.float64, 4)(Z, i, phi), _dot_codegen


def _axpy_codegen(context, builder, signature, args):
    """``g += sum_r w_r Z[i + r]``, per column ``(w_0 z_0j + w_1 z_1j) + (w_2 z_2j + w_3 z_3j)``."""
    gty, zty, ity = signature.args[:3]
    garr = context.make_array(gty)(context, builder, args[0])
    z = context.make_array(zty)(context, builder, args[1])
    intp = context.get_value_type(types.intp)
    dbl = ir.DoubleType()
    elt = context.get_data_type(zty.dtype)
    d = builder.extract_value(z.shape, 1)
    first = builder.mul(context.cast(builder, args[2], ity, types.intp), d)
    nrows = len(args) - 3
    rows = [builder.gep(z.data, [builder.add(first, builder.mul(ir.Constant(intp, r), d))], source_etype=elt)
            for r in range(nrows)]
    ws = [context.cast(builder, a, t, types.float64) for a, t in zip(args[3:], signature.args[3:], strict=True)]
    splats = {w: [_splat(builder, x, w) for x in ws] for w in {_LANES, 4}}

    def step(j, width):
        wv = ws if width == 1 else splats[width]
        terms = [builder.fmul(wv[r], _load(context, builder, rows[r], j, elt, width)) for r in range(nrows)]
        while len(terms) > 1:
            terms = [builder.fadd(terms[k], terms[k + 1]) for k in range(0, len(terms), 2)]
        gp = builder.gep(garr.data, [j], source_etype=dbl)
        vt = dbl if width == 1 else ir.VectorType(dbl, width)
        new = builder.fadd(builder.load(gp, align=8, typ=vt), terms[0])
        builder.store(new, gp if width == 1 else builder.bitcast(gp, vt.as_pointer()), align=8)

    _column_loops(builder, intp, d, step)
    return context.get_dummy_value()


@intrinsic
def _axpy1(typingctx, g, Z, i, w0):
    """``g += w0 * Z[i]`` (``g`` float64; ``Z`` C-contiguous float32/float64)."""
    if not (_is_f64_vector(g) and _is_matrix(Z) and isinstance(i, types.Integer) and isinstance(w0, types.Float)):
        return None
    return types.none(g, Z, i, w0), _axpy_codegen


@intrinsic
def _axpy4(typingctx, g, Z, i, w0, w1, w2, w3):
    """``g += (w0 Z[i] + w1 Z[i+1]) + (w2 Z[i+2] + w3 Z[i+3])``: one sweep of ``g`` for four rows."""
    ws = (w0, w1, w2, w3)
    if not (_is_f64_vector(g) and _is_matrix(Z) and isinstance(i, types.Integer)
            and all(isinstance(w, types.Float) for w in ws)):
        return None
    return types.none(g, Z, i, *ws), _axpy_codegen


@intrinsic
def _axpy8(typingctx, g, Z, i, w0, w1, w2, w3, w4, w5, w6, w7):
    """``g += ((w0 Z[i] + w1 Z[i+1]) + (w2 Z[i+2] + w3 Z[i+3])) + ((w4 ...) + (... w7 Z[i+7]))``.

    One sweep of ``g`` (load, add, store) for eight rows.
    """
    ws = (w0, w1, w2, w3, w4, w5, w6, w7)
    if not (_is_f64_vector(g) and _is_matrix(Z) and isinstance(i, types.Integer)
            and all(isinstance(w, types.Float) for w in ws)):
        return None
    return types.none(g, Z, i, *ws), _axpy_codegen


@intrinsic
def _prefetch_rows(typingctx, Z, lo, hi):
    """Prefetch (``llvm.prefetch``: read, to all cache levels) rows ``lo .. hi-1`` of ``Z``, clipped to ``n``.

    A hint only: it never faults and changes no result.
    """
    if not (_is_matrix(Z) and isinstance(lo, types.Integer) and isinstance(hi, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        zty, lty, hty = signature.args
        z = context.make_array(zty)(context, builder, args[0])
        intp = context.get_value_type(types.intp)
        n = builder.extract_value(z.shape, 0)
        d = builder.extract_value(z.shape, 1)
        first = context.cast(builder, args[1], lty, types.intp)
        stop = context.cast(builder, args[2], hty, types.intp)
        stop = builder.select(builder.icmp_signed("<", stop, n), stop, n)
        first = builder.select(builder.icmp_signed("<", first, stop), first, stop)
        row_bytes = builder.mul(d, ir.Constant(intp, context.get_abi_sizeof(context.get_data_type(zty.dtype))))
        i8 = ir.IntType(8)
        base = builder.bitcast(z.data, i8.as_pointer())
        fnty = ir.FunctionType(ir.VoidType(), [i8.as_pointer(), _I32, _I32, _I32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        with cgutils.for_range_slice(builder, builder.mul(first, row_bytes), builder.mul(stop, row_bytes),
                                     ir.Constant(intp, 64)) as (offset, _):
            # rw = 0 (read), locality = 3 (keep in all levels), cache type = 1 (data)
            builder.call(fn, [builder.gep(base, [offset], source_etype=i8), ir.Constant(_I32, 0),
                              ir.Constant(_I32, 3), ir.Constant(_I32, 1)])
        return context.get_dummy_value()

    return types.none(Z, lo, hi), codegen


@njit(inline="always", cache=True, fastmath=False)
def _sum_8lanes(x, length):
    """``sum(x[:length])`` in eight fixed lanes (independent chains; no reassociation needed)."""
    l8 = length - length % 8
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    for j in range(0, l8, 8):
        s0 += x[j]
        s1 += x[j + 1]
        s2 += x[j + 2]
        s3 += x[j + 3]
        s4 += x[j + 4]
        s5 += x[j + 5]
        s6 += x[j + 6]
        s7 += x[j + 7]
    for j in range(l8, length):
        s0 += x[j]
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@njit(inline="always", cache=True, fastmath=False)
def _logistic(t):
    """``(log(1 + e^-t), sigma(-t), log sigma(-t))`` from one exp and one log1p; no overflow."""
    u = exp_scalar(-abs(t))  # in (0, 1]
    lp = _log1p_unit(u)
    loss = (-t if t < 0.0 else 0.0) + lp
    log_w = -((t if t > 0.0 else 0.0) + lp)
    sig = (u if t >= 0.0 else 1.0) / (1.0 + u)  # e^-t / (1 + e^-t) or 1 / (1 + e^t)
    return loss, sig, log_w


@njit(inline="always", cache=True, fastmath=False)
def _prefetch_step(Z, pf, k, limit):
    """Prefetch rows ``pf .. min(pf + k, limit) - 1``; return the new prefetch frontier."""
    stop = min(pf + k, limit)
    if stop > pf:
        _prefetch_rows(Z, pf, stop)
        return stop
    return pf


@njit(inline="always", cache=True, fastmath=False)
def _accumulate(Z, start, nb, w, g, pf, limit):
    """``g += sum_b w[b] * Z[start + b]`` for ``b < nb``, several rows per sweep of ``g``.

    Eight rows per sweep for short rows (``d <= 64``), four otherwise (measured: at
    ``d = 20`` the sweep overhead dominates, at ``d = 100`` eight row streams plus the
    prefetches are slower than four). Prefetches a group's worth of rows per sweep while
    the frontier ``pf`` is below ``limit``; returns the frontier.
    """
    d = Z.shape[1]
    if d <= _SMALL_D:
        nbg = nb - nb % 8
        for b in range(0, nbg, 8):
            pf = _prefetch_step(Z, pf, 8, limit)
            _axpy8(g, Z, start + b, w[b], w[b + 1], w[b + 2], w[b + 3], w[b + 4], w[b + 5], w[b + 6], w[b + 7])
    else:
        nbg = nb - nb % 4
        for b in range(0, nbg, 4):
            pf = _prefetch_step(Z, pf, 4, limit)
            _axpy4(g, Z, start + b, w[b], w[b + 1], w[b + 2], w[b + 3])
    for b in range(nbg, nb):
        _axpy1(g, Z, start + b, w[b])
    return pf


@njit(cache=True, fastmath=False, error_model="numpy")
def _pass(Z, phi, s, mode, rows, ahead, g, g2):
    """The fused pass. ``phi`` float64 (d,); ``g``, ``g2`` float64 zeros (d,), accumulated into.

    ``s`` scales the margins of the logistic quantities (``gamma`` for LOGISTIC and
    NORMALIZED, 1 for the perceptrons); ``rows`` is the block size and ``ahead`` the
    prefetch distance in rows (0: none). Per mode, on return:

    - LOGISTIC: ``g = sum sigma(-s m_i) z_i``;
    - NORMALIZED: ``g = sum exp(l_i - M) z_i`` with ``l_i = log sigma(-s m_i)``, and
      ``ssum = sum exp(l_i - M)`` (the caller divides);
    - BATCH, NORMALIZED_BATCH: ``g = sum 1[m_i <= 0] z_i`` and ``g2 = sum sigma(-m_i) z_i``;
    - SINGLE: ``g2 = sum sigma(-m_i) z_i`` (``g`` untouched), and the first ``i`` with
      ``m_i <= 0`` (-1 if none).

    Returns ``(loss_sum, n_nonpos, min_margin, M, ssum, first_nonpos)``. The mode tests
    sit outside the loops over rows, so each loop is branch-free and vectorizes.
    """
    n, d = Z.shape
    mbuf = np.empty(rows)  # margins
    wbuf = np.empty(rows)  # weight of each row in g
    vbuf = np.empty(rows)  # sigma(-m) (perceptron modes) or log-weights (NORMALIZED)
    lbuf = np.empty(rows)  # loss terms
    loss = 0.0
    count = 0
    mmin = np.inf
    first = -1
    big_m = -np.inf  # NORMALIZED: the reference M of the exponentials
    ssum = 0.0
    pf = 0  # prefetch frontier: rows below it have been prefetched
    for start in range(0, n, rows):
        nb = min(rows, n - start)
        limit = start + ahead if ahead > 0 else 0
        # 1. margins: the one read of these rows from memory
        nb4 = nb - nb % 4
        for b in range(0, nb4, 4):
            pf = _prefetch_step(Z, pf, 4, limit)
            m0, m1, m2, m3 = _row_dot4(Z, start + b, phi)
            mbuf[b] = m0
            mbuf[b + 1] = m1
            mbuf[b + 2] = m2
            mbuf[b + 3] = m3
            mmin = min(mmin, min(min(m0, m1), min(m2, m3)))
        for b in range(nb4, nb):
            m = _row_dot(Z, start + b, phi)
            mbuf[b] = m
            mmin = m if m < mmin else mmin
        # 2. weights, loss terms and #{m <= 0}, vectorized across the rows of the block
        c = 0
        if mode == LOGISTIC:
            for b in range(nb):
                m = mbuf[b]
                c += 1 if m <= 0.0 else 0
                lbuf[b], wbuf[b], _ = _logistic(s * m)
        elif mode == NORMALIZED:
            for b in range(nb):
                m = mbuf[b]
                c += 1 if m <= 0.0 else 0
                lbuf[b], _, vbuf[b] = _logistic(s * m)
        elif mode == SINGLE:
            for b in range(nb):
                m = mbuf[b]
                c += 1 if m <= 0.0 else 0
                lbuf[b], vbuf[b], _ = _logistic(m)
            if first < 0 and c > 0:
                for b in range(nb):
                    if mbuf[b] <= 0.0:
                        first = start + b
                        break
        else:
            for b in range(nb):
                m = mbuf[b]
                nonpos = m <= 0.0
                c += 1 if nonpos else 0
                lbuf[b], vbuf[b], _ = _logistic(m)
                wbuf[b] = 1.0 if nonpos else 0.0
        count += c
        loss += _sum_8lanes(lbuf, nb)
        if mode == NORMALIZED:
            # Online softmax. M only moves when a block's largest log-weight exceeds it by
            # more than _RESCALE_NATS, so there is at most one O(d) rescale per block, and
            # rarely that. In between, the factors exp(l - M) are at most e^20 ~ 4.9e8:
            # float64 rounding is relative, so scaling every term by a common e^c (c <= 20)
            # changes no relative error, and the sums stay far from overflow
            # (n e^20 max|z| << 1e308). The terms exp(l - M) that underflow are below e^-745
            # of the largest one, as in the generic two-pass softmax.
            bmax = -np.inf
            for b in range(nb):
                v = vbuf[b]
                bmax = v if v > bmax else bmax
            if bmax > big_m + _RESCALE_NATS:
                f = exp_scalar(big_m - bmax)  # 0 on the first block (M = -inf)
                for j in range(d):
                    g[j] *= f
                ssum *= f
                big_m = bmax
            for b in range(nb):
                wbuf[b] = exp_scalar(vbuf[b] - big_m)
            ssum += _sum_8lanes(wbuf, nb)
        # 3. accumulate the block (now in cache) into g and/or g2
        limit = limit + rows if ahead > 0 else 0
        if mode != SINGLE:
            pf = _accumulate(Z, start, nb, wbuf, g, pf, limit)
        if mode == SINGLE or mode == BATCH or mode == NORMALIZED_BATCH:
            pf = _accumulate(Z, start, nb, vbuf, g2, pf, limit)
    return loss, count, mmin, big_m, ssum, first


def _block_rows(d: int, itemsize: int) -> tuple[int, int]:
    """Rows per block and prefetch distance in rows (0: none) for rows of ``d`` entries."""
    row_bytes = max(1, d * itemsize)
    rows = min(_MAX_ROWS, max(_MIN_ROWS, _BLOCK_TARGET // row_bytes // 8 * 8))
    rows = max(1, min(rows, _BLOCK_BYTES // row_bytes))
    ahead = _PREFETCH_BLOCKS * rows if row_bytes <= _PREFETCH_MAX_BYTES else 0
    return rows, ahead


def data_pass(Z: np.ndarray, phi: np.ndarray, gamma: float, mode: int) -> PassResult:
    """Numba version of :func:`optlab.classification._passes.data_pass` (same modes and results).

    ``Z`` (n, d) and ``phi`` (d,) are NumPy float32/float64 arrays (``Z`` C-contiguous for
    speed); nothing is validated. ``g`` is a new array of ``Z``'s dtype; ``loss``,
    ``grad_norm`` and ``min_margin`` are Python floats (computed in float64), ``n_nonpos``
    an int.
    """
    if not Z.flags.c_contiguous:  # the kernel is compiled for C-contiguous Z only
        Z = np.ascontiguousarray(Z)
    n, d = Z.shape
    phi64 = np.ascontiguousarray(phi, dtype=np.float64)
    s = float(gamma) if mode in (LOGISTIC, NORMALIZED) else 1.0
    g = np.zeros(d)
    g2 = np.zeros(d)
    rows, ahead = _block_rows(d, Z.itemsize)
    loss_sum, count, mmin, big_m, ssum, first = _pass(Z, phi64, s, mode, rows, ahead, g, g2)
    count = int(count)
    loss = float(loss_sum) / n
    if mode == LOGISTIC:
        grad_norm = float(np.linalg.norm(g)) / n
    elif mode == NORMALIZED:
        g /= ssum
        # grad f(theta) = -(1/n) sum_j sigma_j z_j = -(exp(M) ssum / n) g
        grad_norm = math.exp(big_m + math.log(ssum)) / n * float(np.linalg.norm(g))
    else:
        grad_norm = float(np.linalg.norm(g2)) / n
        if mode == SINGLE:
            if first >= 0:
                return PassResult(Z[first].copy(), loss, grad_norm, count, float(mmin))
        elif mode == NORMALIZED_BATCH and count > 0:
            g /= count
    return PassResult(g.astype(Z.dtype, copy=False), loss, grad_norm, count, float(mmin))
