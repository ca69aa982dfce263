"""Numba kernels of the entropic OT solvers (float32 and float64 inputs, float64 arithmetic).

All kernels read the cost ``C`` (or the Gibbs kernel ``K``) row by row (C-contiguous),
keep the potentials in float64 and compute every exponential with a vectorizable exp
(this Numba has no SVML, so ``math.exp`` in a loop would run scalar): the per-entry ones
with :func:`_exp_sk` (about 1 ulp, about twice the throughput of
:func:`optlab.kernels.expm.exp_scalar`, which the few per-row ones use). Fast-math flags
are limited to ``contract`` (fused multiply-adds: exact products, one rounding fewer) in
the sweeps and the plan pass, and ``reassoc`` only in the plain reductions (row sums, row
maxima, the four dot products of the kernel sweep), where it lets LLVM split a sum into
vector lanes; never ``reassoc`` around the exp (its rounding tricks need it off), never
``nnan``/``ninf`` where non-finite values can occur. The results are deterministic (the
summation order is fixed at compile time). The row loops prefetch the next row of ``C``
(``llvm.prefetch``) while the current one is computed: the exp-bound loops otherwise
stall on memory (about 10% at ``n = 5000``, measured in one process).

- :func:`log_sweep`: one Sinkhorn iteration in the log domain (both half-steps) reading
  ``C`` from memory once and computing ONE exponential per entry. Row ``i``:
  ``w_j = eta (y_j - C_ij)``, a shift ``mx`` (the row maximum at a starting point; else
  ``log r_i + 1 - eta x_i``, which the previous sweep's column balance makes overflow-free,
  with an exact-max fallback), ``e_j = exp(w_j - mx)``, ``s = sum e_j``,
  ``x_i <- (log r_i + 1 - mx - log s) / eta``.
  The new row ``i`` of ``P(x_new, y_old)`` is ``(r_i / s) e_j`` exactly, so it is added to
  the column sums while the row is in cache; then
  ``y_j <- y_j + (log c_j - log colsum_j) / eta`` (the column half-step in its
  potential-increment form). ``P(x_new, y_old)_ij <= r_i``, so the column sums cannot
  overflow; a column whose sum falls below ``1e-250`` (its mass lost to underflow) is
  recomputed with an exact two-pass column log-sum-exp. Exponents below ``-700`` are
  set to 0 (no subnormals: their weight is below ``1e-304`` of the row's largest term).
  [our choice] The spec's reference has two exponentials per entry; reusing the row's
  exponentials for the column half-step is exact algebra and halves the exp count.
  The sweep also returns the marginal L1 error and ``sum P`` of the iterate it started
  from (one more multiply-add per entry), so the trace costs nothing extra.
  [our choice] The steady-state rows (every sweep but the first) go in chunks of 256
  columns: a chunk prefetches the same columns of the next row, computes its exponentials
  with the exp's constants in registers (:func:`_exp_sk_consts`), adds row ``i - 1`` to the
  column sums in the same loop (deferred: row ``i``'s scale needs its full sum) and sums
  itself from L1. Measured in one process at ``n = 5000`` (float64, one core): 27.3 ms ->
  13.8 ms per sweep, 0.55 ns per entry (float32 ``C``: 20.4 -> 14.0 ms). The previous form
  prefetched the whole next row at the row start, which fills the miss buffers, so the exp
  loop waited on memory (it ran at 0.92 ns per entry over ``C``, 0.52 with the row in
  cache); its literal constants were reloaded from memory every iteration (0.52 -> 0.43 ns
  per entry in cache); and the row sum and the column sums were two more passes over the
  row from L2. The row sum is now a sum of chunk sums: the results change by rounding only.
- :func:`kernel_sweep`: one Sinkhorn iteration in the scaling domain, reading ``K`` once:
  row ``i``: ``s = K_i . v``, ``u_i = a_i / s``, ``t += u_i K_i`` (the next column sums);
  then ``v = b / t``. Rows go eight at a time: their eight dot products in one pass (eight
  memory streams), then the eight rows, now in L2, are added to the column sums in one
  fused multiply-add pass that prefetches the same columns of the next eight rows, so
  memory keeps streaming while the pass runs from cache. [our choice] Measured in one
  process at ``n = 5000`` (one core, 42 GB/s): 0.83-0.86 of the one-read limit ``8 n^2
  / bandwidth``, against 0.72-0.77 for four-row blocks without the prefetch and 0.75-0.81
  for four-row blocks with it; a software-pipelined form (the dot products of block ``b``
  fused with the column sums of block ``b - 1`` in one loop) does not vectorize in Numba
  (too many pointers for LLVM's runtime alias checks) and ran at 0.56; written as LLVM
  vector IR it vectorizes but runs at 0.63 (0.72 with software prefetch of the next
  block; 0.60-0.73 alternating the two in chunks of 64-1024 columns): sixteen concurrent
  row streams starve the hardware prefetcher.
- SNS: :func:`plan_pass` (plan, marginals and ``sum P`` in one pass),
  :func:`collect_above` (candidates for the top-k threshold), :func:`csr_from_triplets`
  (row CSR and its transpose, so both products are race-free), :func:`pcg` (Jacobi-PCG on
  ``-M = eta [[diag(P 1), S], [S^T, diag(P^T 1)]]``).

Nothing compiles at import; each kernel compiles on first use per dtype, cached on disk.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from optlab.kernels.expm import _float64_as_int64, _int64_as_float64, exp_scalar

__all__ = ["collect_above", "csr_from_triplets", "kernel_sweep", "log_sweep", "pcg", "plan_pass"]

_CUT = -700.0  # exp(v) for v <= _CUT is stored as 0 (below 1e-304; never a subnormal)
_TINY_COL = 1e-250  # a column sum below this is recomputed exactly
_TINY_ROW, _HUGE_ROW = 1e-200, 1e200  # a row sum outside this range (shifted sweep) is redone exactly


@intrinsic
def _prefetch(typingctx, arr, j):
    """Hint (``llvm.prefetch``, read, keep in all levels) that ``arr[j]`` of a 1-D array is needed soon.

    Never faults and changes no result; an index past the end is clipped to the last entry.
    """
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and isinstance(j, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        aty, jty = signature.args
        a = context.make_array(aty)(context, builder, args[0])
        intp = context.get_value_type(types.intp)
        n = builder.extract_value(a.shape, 0)
        idx = context.cast(builder, args[1], jty, types.intp)
        last = builder.sub(n, ir.Constant(intp, 1))
        idx = builder.select(builder.icmp_signed("<", idx, last), idx, last)
        ptr = builder.gep(a.data, [idx])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(arr, j), codegen


_LOG2E = 1.4426950408889634
_LN2_HI = float.fromhex("0x1.62e42fee00000p-1")  # 32 significant bits: nf * _LN2_HI is exact
_LN2_LO = float.fromhex("0x1.a39ef35793c76p-33")
_SHIFT = 6755399441055744.0  # 1.5 * 2^52: adding it rounds to an integer held in the low mantissa bits
_SHIFT_BITS = 0x4338000000000000
_EXP_LO, _EXP_HI = -708.0, 709.0  # the clamp of _exp_sk: 2^n stays a normal number, one scaling suffices


# the constants of _exp_sk in the order _exp_sk_k takes them: clamp, reduction, the Taylor coefficients 1/k!, 1
_EXP_SK_CONSTS = (_EXP_LO, _EXP_HI, _LOG2E, _SHIFT, _LN2_HI, _LN2_LO, 0.5, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0,
                  1.0 / 720.0, 1.0 / 5040.0, 1.0 / 40320.0, 1.0 / 362880.0, 1.0 / 3628800.0, 1.0 / 39916800.0,
                  1.0 / 479001600.0, 1.0 / 6227020800.0, 1.0)


@njit(inline="always", cache=True, fastmath=False)
def _exp_sk(x):
    """``exp(x)`` for the sweeps' shifted exponents: about 1 ulp on ``[-708, 709]``, fewer operations.

    The same reduction and degree-13 Taylor polynomial as
    :func:`optlab.kernels.expm.exp_scalar`, without its compensated tail (the
    callers compile with ``fastmath={"contract"}``, so the reduction and the
    polynomial run as fused multiply-adds) and with one power-of-two scaling, since
    the input is clamped to ``[-708, 709]``: below, the callers store 0 anyway
    (``x <= _CUT``); above 709 the result is ``inf`` (a plan entry above ``exp(709)``
    only comes from an overshooting trial step, which is then rejected; the log sweep
    redoes such a row exactly). ``nan`` gives ``exp(-708)``: no caller passes one
    (finite potentials, finite costs). About 1.5x the throughput of
    ``exp_scalar`` here; accuracy tested in ``tests/test_ot.py``.
    """
    return _exp_sk_k(x, _EXP_SK_CONSTS)  # literal constants: folded into the code


@njit(inline="always", cache=True, fastmath=False)
def _sum_8lanes(w, m):
    """Sum of ``w[:m]`` in eight independent lanes (vectorizable without fastmath)."""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    m8 = m - m % 8
    for j in range(0, m8, 8):
        s0 += w[j]
        s1 += w[j + 1]
        s2 += w[j + 2]
        s3 += w[j + 3]
        s4 += w[j + 4]
        s5 += w[j + 5]
        s6 += w[j + 6]
        s7 += w[j + 7]
    for j in range(m8, m):
        s0 += w[j]
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))


@njit(cache=True, fastmath={"reassoc", "nnan"})
def _row_max(w, m):
    """``max(w[:m])`` of finite values (``reassoc, nnan``: a vectorized max reduction)."""
    mx = -np.inf
    for j in range(m):
        v = w[j]
        mx = v if v > mx else mx
    return mx


@njit(cache=True, fastmath={"reassoc"})
def _row_sum(w, m):
    """``sum(w[:m])`` with ``reassoc`` only: LLVM splits the sum into vector lanes."""
    s = 0.0
    for j in range(m):
        s += w[j]
    return s


@njit(inline="always", cache=True, fastmath=False)
def _neumaier(total, comp, v):
    t = total + v
    if abs(total) >= abs(v):
        comp += (total - t) + v
    else:
        comp += (v - t) + total
    return t, comp


@njit(inline="always", cache=True, fastmath=False)
def _total(total, comp):
    """The compensated sum; an infinite total stays infinite (its compensation is nan)."""
    return total + comp if abs(total) < np.inf else total


@njit(cache=True, fastmath=False)
def _exact_col_lse(C, eta, x, j):
    """``LSE_i(eta (x_i - C_ij))`` for one column, two passes (the underflow fallback)."""
    n = C.shape[0]
    mx = -np.inf
    for i in range(n):
        v = eta * x[i] - eta * np.float64(C[i, j])
        mx = v if v > mx else mx
    s = 0.0
    for i in range(n):
        s += exp_scalar(eta * x[i] - eta * np.float64(C[i, j]) - mx)
    return mx + math.log(s)


@intrinsic
def _opaque(typingctx, x):
    """``x`` unchanged, through an empty volatile inline-asm register operand (x86-64; elsewhere a no-op).

    LLVM can neither fold the result back into a constant nor move the statement, so a constant
    passed through it is materialized where the call stands: see :func:`_exp_sk_consts`.
    """
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, signature, args):
        if not builder.module.triple.startswith("x86_64"):
            return args[0]
        ty = context.get_value_type(signature.args[0])
        return builder.asm(ir.FunctionType(ty, [ty]), "", "=v,0", [args[0]], side_effect=True)

    return x(x), codegen


@njit(inline="always", cache=True, fastmath=False)
def _exp_sk_consts():
    """The constants of :func:`_exp_sk` as opaque values (:func:`_opaque`), for :func:`_exp_sk_k`.

    [our choice] The exp loop of :func:`log_sweep` needs about 31 vector registers (of 32). With
    literal constants LLVM reloads each of them from memory in every iteration (about 25 loads per
    8 entries: 0.52 ns per entry with ``C`` in cache, against 0.43 ns for a plain ``_exp_sk`` loop);
    with opaque ones taken once per sweep it hoists their broadcasts out of the row loop and spills
    them, which costs as much and runs at half speed in some runs (stack reloads next to the
    loop's stores). Taken right before each chunk's loop, they are broadcast there and stay in
    registers through it (one spill). Same values, same results.
    """
    k = _EXP_SK_CONSTS
    return (_opaque(k[0]), _opaque(k[1]), _opaque(k[2]), _opaque(k[3]), _opaque(k[4]), _opaque(k[5]),
            _opaque(k[6]), _opaque(k[7]), _opaque(k[8]), _opaque(k[9]), _opaque(k[10]), _opaque(k[11]),
            _opaque(k[12]), _opaque(k[13]), _opaque(k[14]), _opaque(k[15]), _opaque(k[16]), _opaque(k[17]),
            _opaque(k[18]))


@njit(inline="always", cache=True, fastmath=False)
def _exp_sk_k(x, k):
    """:func:`_exp_sk` with its constants taken from ``k`` (``_EXP_SK_CONSTS``, literal and folded into the
    code, or :func:`_exp_sk_consts`, the same values held in registers): the same operations in the same
    order on the same values, so the same result bit for bit."""
    lo, hi, log2e, shift, ln2_hi, ln2_lo, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, one = k
    xc = x if x > lo else lo
    xc = xc if xc < hi else hi
    t = xc * log2e + shift
    nf = t - shift
    n = _float64_as_int64(t) - _SHIFT_BITS
    r = (xc - nf * ln2_hi) - nf * ln2_lo
    r2 = r * r
    r4 = r2 * r2
    a0 = c2 + c3 * r
    a1 = c4 + c5 * r
    a2 = c6 + c7 * r
    a3 = c8 + c9 * r
    a4 = c10 + c11 * r
    a5 = c12 + c13 * r
    q = (a0 + a1 * r2) + ((a2 + a3 * r2) + (a4 + a5 * r2) * r4) * r4
    y = one + (r + r2 * q)
    res = y * _int64_as_float64((n + 1023) << 52)
    return res if x <= hi else np.inf


_LOG_CHUNK = 256  # columns per chunk of the steady-state row pass of log_sweep (its operands stay in L1)


@njit(cache=True, fastmath={"contract"})
def log_sweep(C, eta, x, y, r, logr, c, logc, work, first):
    """One log-domain Sinkhorn iteration in place on float64 potentials ``x``, ``y``.

    ``work`` is a float64 array of shape ``(4, m)``. Returns ``(err, mass, n_fallback)``:
    the marginal L1 error and ``sum P`` of the iterate ``(x, y)`` the sweep started from
    (before either half-step) and the number of columns recomputed exactly.

    ``first`` marks a starting point (zero potentials, or potentials after a Newton step):
    then every row is max-shifted exactly (two passes over the row) and the column error is
    computed. Otherwise the previous sweep balanced the columns, so ``P(x, y)_ij <= c_j``
    and the shift ``log r_i + 1 - eta x_i`` (giving ``exp(.) = P_ij / r_i <= c_j / r_i``)
    cannot overflow: each row is read once, and a row whose sum leaves
    ``[1e-200, 1e200]`` is redone with the exact max; the column error is then rounding
    only and is not recomputed. [our choice: it saves the max pass, a third of the time.]

    Steady state, row ``i``, per chunk of ``_LOG_CHUNK`` columns: prefetch the same columns
    of row ``i + 1`` (one prefetch per cache line, spread over the row instead of a burst
    at its start: 23.1 -> 14.7 ms for the exp pass alone at ``n = 5000``), then one loop
    computing the exponentials with :func:`_exp_sk_k` (constants in registers) into
    ``work[cur]`` while adding ``scale_new`` of row ``i - 1`` times its exponentials (in
    ``work[2 - cur]``, the buffer the first sweep uses for its second column sum) into the
    column sums, then the chunk's sum from L1. Full chunks have a constant trip count (no
    scalar remainder loop, which would hold a second copy of the constants); the last
    ``m % _LOG_CHUNK`` columns use :func:`_exp_sk`. The last row is added after the loop.
    [our choice] Measured in one process at ``n = 5000``: 27.3 -> 13.8 ms per sweep. Variants
    measured against 14.0 ms for an earlier build of this form (same runs): the column sums
    as a separate pass per row (results identical bit for bit to the one-pass form) 15.3-15.9
    ms; the row sum over the whole row after the chunks (also bit-identical) 15.5 ms; the sum
    in the exp loop (a per-instruction ``reassoc`` add) 14.2-14.5 ms (out of registers).
    """
    n, m = C.shape
    w = work[0]
    acc = work[1]
    acc_old = work[2]
    ay = work[3]
    for j in range(m):
        ay[j] = eta * y[j]
        acc[j] = 0.0
        acc_old[j] = 0.0  # also the "previous row" of the first steady-state row: its deferred column sum adds 0
    err = 0.0
    mass = 0.0
    comp = 0.0
    line = 64 // C.itemsize  # entries of C per cache line
    cur = 0  # steady state: row i's exponentials go to work[cur], row i - 1's are in work[2 - cur]
    scale_prev = 0.0  # steady state: scale_new of row i - 1, whose column sums are added during row i
    for i in range(n):
        row = C[i]
        s = 0.0
        mx = 0.0
        nxt = C[min(i + 1, n - 1)]  # fetch the next row while this one is computed (hides DRAM latency)
        if first:
            for j in range(0, m, line):
                _prefetch(nxt, j)
        else:  # shift from the previous potentials: one pass over the row, no max pass
            mx = logr[i] + 1.0 - eta * x[i]
            w = work[cur]
            wp = work[2 - cur]
            mfull = m - m % _LOG_CHUNK
            for j0 in range(0, mfull, _LOG_CHUNK):  # full chunks: the next row is prefetched evenly, sums from L1
                j1 = j0 + _LOG_CHUNK
                for j in range(j0, j1, line):
                    _prefetch(nxt, j)
                cs, ays, ws, wps, accs = row[j0:j1], ay[j0:j1], w[j0:j1], wp[j0:j1], acc[j0:j1]
                k = _exp_sk_consts()
                cut = _opaque(_CUT)
                for j in range(_LOG_CHUNK):  # a constant count: no scalar remainder loop competing for registers
                    v = (ays[j] - mx) - eta * np.float64(cs[j])
                    e = _exp_sk_k(v, k)
                    ws[j] = e if v > cut else 0.0
                    accs[j] += scale_prev * wps[j]  # row i - 1 into the column sums (deferred)
                s += _row_sum(ws, _LOG_CHUNK)
            if mfull < m:  # the last m % _LOG_CHUNK columns, with the plain exp
                for j in range(mfull, m, line):
                    _prefetch(nxt, j)
                cs, ays, ws, wps, accs = row[mfull:], ay[mfull:], w[mfull:], wp[mfull:], acc[mfull:]
                for j in range(m - mfull):
                    v = (ays[j] - mx) - eta * np.float64(cs[j])
                    e = _exp_sk(v)
                    ws[j] = e if v > _CUT else 0.0
                    accs[j] += scale_prev * wps[j]
                s += _row_sum(ws, m - mfull)
        if first or not (_TINY_ROW < s < _HUGE_ROW):  # exact max shift (first sweep, or a row far from balance)
            for j in range(m):
                w[j] = ay[j] - eta * np.float64(row[j])
            mx = _row_max(w, m)
            for j in range(m):
                v = w[j] - mx
                e = _exp_sk(v)
                w[j] = e if v > _CUT else 0.0
            s = _row_sum(w, m)
        scale_old = exp_scalar(eta * x[i] - 1.0 + mx)  # P(x_old, y_old)_ij = scale_old * w_j
        p1 = scale_old * s
        err += abs(p1 - r[i])
        mass, comp = _neumaier(mass, comp, p1)
        x[i] = (logr[i] + 1.0 - mx - math.log(s)) / eta
        scale_new = r[i] / s  # P(x_new, y_old)_ij = scale_new * w_j
        if first:
            for j in range(m):
                acc[j] += scale_new * w[j]
                acc_old[j] += scale_old * w[j]
        else:  # added to the column sums during the next row (or below, for the last row)
            scale_prev = scale_new
            cur = 2 - cur
    if not first:
        wp = work[2 - cur]
        for j in range(m):
            acc[j] += scale_prev * wp[j]
    n_fallback = 0
    for j in range(m):
        if first:
            err += abs(acc_old[j] - c[j])
        if acc[j] > _TINY_COL:
            y[j] += (logc[j] - math.log(acc[j])) / eta
        else:
            n_fallback += 1
            y[j] = (logc[j] + 1.0 - _exact_col_lse(C, eta, x, j)) / eta
    return err, _total(mass, comp), n_fallback


@njit(cache=True, fastmath={"reassoc", "contract"})
def _dot8(B, v, m):
    """The eight dot products ``B[k] . v`` in one pass (eight memory streams in flight).

    ``reassoc`` and ``contract`` only (no approximations, no NaN/inf assumptions): LLVM
    splits each sum into vector lanes of fused multiply-adds, as the explicit eight-lane
    sums elsewhere do by hand.
    """
    r0, r1, r2, r3, r4, r5, r6, r7 = B[0], B[1], B[2], B[3], B[4], B[5], B[6], B[7]
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    for j in range(m):
        vj = v[j]
        s0 += np.float64(r0[j]) * vj
        s1 += np.float64(r1[j]) * vj
        s2 += np.float64(r2[j]) * vj
        s3 += np.float64(r3[j]) * vj
        s4 += np.float64(r4[j]) * vj
        s5 += np.float64(r5[j]) * vj
        s6 += np.float64(r6[j]) * vj
        s7 += np.float64(r7[j]) * vj
    return s0, s1, s2, s3, s4, s5, s6, s7


_AXPY_CHUNK = 32  # columns per chunk of the column-sum pass (then the same columns of the next rows are prefetched)


@njit(cache=True, fastmath={"contract"})
def _axpy8(t, w, B, Q, m):
    """``t += sum_k w[k] B[k]`` over eight rows ``B`` (in L2: just read), prefetching ``Q``.

    After each chunk of ``_AXPY_CHUNK`` columns the same columns of the next eight rows
    ``Q`` are prefetched, so memory keeps streaming while this pass runs from cache.
    """
    w0, w1, w2, w3, w4, w5, w6, w7 = w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]
    r0, r1, r2, r3, r4, r5, r6, r7 = B[0], B[1], B[2], B[3], B[4], B[5], B[6], B[7]
    q0, q1, q2, q3, q4, q5, q6, q7 = Q[0], Q[1], Q[2], Q[3], Q[4], Q[5], Q[6], Q[7]
    m_ch = m - m % _AXPY_CHUNK
    for j0 in range(0, m_ch, _AXPY_CHUNK):
        for j in range(j0, j0 + _AXPY_CHUNK):
            t[j] += (((w0 * np.float64(r0[j]) + w1 * np.float64(r1[j]))
                      + (w2 * np.float64(r2[j]) + w3 * np.float64(r3[j])))
                     + ((w4 * np.float64(r4[j]) + w5 * np.float64(r5[j]))
                        + (w6 * np.float64(r6[j]) + w7 * np.float64(r7[j]))))
        for k in range(4):  # 4 lines of float64 (2 of float32: the repeats cost a cache lookup)
            jj = j0 + 8 * k
            _prefetch(q0, jj)
            _prefetch(q1, jj)
            _prefetch(q2, jj)
            _prefetch(q3, jj)
            _prefetch(q4, jj)
            _prefetch(q5, jj)
            _prefetch(q6, jj)
            _prefetch(q7, jj)
    for j in range(m_ch, m):
        t[j] += (((w0 * np.float64(r0[j]) + w1 * np.float64(r1[j]))
                  + (w2 * np.float64(r2[j]) + w3 * np.float64(r3[j])))
                 + ((w4 * np.float64(r4[j]) + w5 * np.float64(r5[j]))
                    + (w6 * np.float64(r6[j]) + w7 * np.float64(r7[j]))))


@njit(cache=True, fastmath=False)
def kernel_sweep(K, u, v, a, b, work, col_err):
    """One scaling-domain Sinkhorn iteration in place on float64 ``u``, ``v``.

    Reads ``K`` from memory once: rows are taken eight at a time, their dot products with
    ``v`` give the new ``u``, and the eight rows are added to the column sums while they
    are in L2, with the next eight rows prefetched meanwhile. ``work`` is float64
    ``(2, m)``. Returns ``(err, mass)`` of the iterate ``(u, v)`` the sweep started from:
    the row error always; the column error only when ``col_err`` (one more multiply-add
    per entry), since after a sweep the column marginals are exact up to rounding and
    only the starting point has a column error.
    """
    n, m = K.shape
    t = work[0]
    t_old = work[1]
    for j in range(m):
        t[j] = 0.0
        t_old[j] = 0.0
    err = 0.0
    mass = 0.0
    comp = 0.0
    w = np.zeros(8)
    o = np.zeros(8)
    s = np.zeros(8)
    nb = (n + 7) // 8
    for ib in range(nb):
        i = 8 * ib
        cnt = min(8, n - i)
        if cnt == 8:
            B = K[i:i + 8]
        else:  # the last n % 8 rows, padded with copies of row n - 1 whose weights are 0
            B = np.empty((8, m), dtype=K.dtype)
            for k in range(8):
                B[k] = K[min(i + k, n - 1)]
        s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7] = _dot8(B, v, m)
        blk = 0.0
        for k in range(8):
            if k < cnt:
                o[k] = u[i + k]
                p = o[k] * s[k]
                err += abs(p - a[i + k])
                blk += p
                w[k] = a[i + k] / s[k]
                u[i + k] = w[k]
            else:
                o[k] = 0.0
                w[k] = 0.0
        mass, comp = _neumaier(mass, comp, blk)
        if col_err:
            _axpy8(t_old, o, B, B, m)
            _axpy8(t, w, B, B, m)
        else:
            nxt = min(i + 8, max(n - 8, 0))  # the next block (the last full one at the end)
            _axpy8(t, w, B, K[nxt:nxt + 8] if n >= 8 else B, m)
    for j in range(m):
        if col_err:
            err += abs(v[j] * t_old[j] - b[j])
        v[j] = b[j] / t[j]
    return err, _total(mass, comp)


@njit(cache=True, fastmath={"contract"})
def plan_pass(C, eta, x, y, P, rowsum, colsum):
    """``P_ij = exp(eta (x_i + y_j - C_ij) - 1)`` into ``P`` (float64), with its marginals.

    Returns ``sum P`` (compensated over rows). Exponents above 709 give ``inf``
    (:func:`_exp_sk`): a line-search trial that overshoots is then rejected by its
    ``f = -inf``.
    """
    n, m = C.shape
    ay = np.empty(m)
    for j in range(m):
        ay[j] = eta * y[j]
        colsum[j] = 0.0
    mass = 0.0
    comp = 0.0
    for i in range(n):
        row = C[i]
        prow = P[i]
        bx = eta * x[i] - 1.0
        nxt = C[min(i + 1, n - 1)]
        for j in range(0, m, 64 // C.itemsize):
            _prefetch(nxt, j)
        for j in range(m):
            v = (bx + ay[j]) - eta * np.float64(row[j])
            e = _exp_sk(v)
            prow[j] = e if v > _CUT else 0.0
        s = _sum_8lanes(prow, m)
        rowsum[i] = s
        for j in range(m):
            colsum[j] += prow[j]
        mass, comp = _neumaier(mass, comp, s)
    return _total(mass, comp)


@njit(cache=True, fastmath=False)
def collect_above(P, t0, cap, ci, cj, cv):
    """Entries ``P_ij >= t0`` in row-major order into ``(ci, cj, cv)`` (at most ``cap``).

    Returns how many entries are ``>= t0`` (which may exceed ``cap``; then only the first
    ``cap`` are stored and the caller raises ``t0``).
    """
    n, m = P.shape
    cnt = 0
    for i in range(n):
        prow = P[i]
        for j in range(m):
            if prow[j] >= t0:
                if cnt < cap:
                    ci[cnt] = i
                    cj[cnt] = j
                    cv[cnt] = prow[j]
                cnt += 1
    return cnt


@njit(cache=True, fastmath=False)
def csr_from_triplets(ci, cj, cv, keep, n, m):
    """Row CSR and column CSR (the transpose) of the kept triplets (row-major order).

    Two passes each: count per row (column), prefix sum, fill; the row-major input
    order makes each row's column indices ascending, and the fill of the transpose
    keeps each column's row indices ascending.
    """
    indptr = np.zeros(n + 1, dtype=np.int64)
    tindptr = np.zeros(m + 1, dtype=np.int64)
    nnz = 0
    for q in range(ci.shape[0]):
        if keep[q]:
            indptr[ci[q] + 1] += 1
            tindptr[cj[q] + 1] += 1
            nnz += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    for j in range(m):
        tindptr[j + 1] += tindptr[j]
    indices = np.empty(nnz, dtype=np.int64)
    data = np.empty(nnz)
    tindices = np.empty(nnz, dtype=np.int64)
    tdata = np.empty(nnz)
    pos = indptr[:-1].copy()
    tpos = tindptr[:-1].copy()
    for q in range(ci.shape[0]):
        if keep[q]:
            i, j, v = ci[q], cj[q], cv[q]
            indices[pos[i]] = j
            data[pos[i]] = v
            pos[i] += 1
            tindices[tpos[j]] = i
            tdata[tpos[j]] = v
            tpos[j] += 1
    return indptr, indices, data, tindptr, tindices, tdata


@njit(cache=True, fastmath=False)
def _matvec(indptr, indices, data, tindptr, tindices, tdata, d1, d2, eta, v, out):
    """``out = -M v = eta [d1 * v_x + S v_y ; S^T v_x + d2 * v_y]`` (race-free: two CSRs)."""
    n = d1.shape[0]
    m = d2.shape[0]
    for i in range(n):
        s = d1[i] * v[i]
        for q in range(indptr[i], indptr[i + 1]):
            s += data[q] * v[n + indices[q]]
        out[i] = eta * s
    for j in range(m):
        s = d2[j] * v[n + j]
        for q in range(tindptr[j], tindptr[j + 1]):
            s += tdata[q] * v[tindices[q]]
        out[n + j] = eta * s


@njit(cache=True, fastmath=False)
def pcg(indptr, indices, data, tindptr, tindices, tdata, d1, d2, eta, g, rtol, maxiter):
    """Jacobi-preconditioned CG for ``(-M) dz = g`` from ``dz = 0``.

    Stops when ``||residual||_2 <= rtol ||g||_2`` or after ``maxiter`` iterations.
    Returns ``(dz, iterations, relative residual)``.
    """
    N = g.shape[0]
    n = d1.shape[0]
    dinv = np.empty(N)
    for i in range(n):
        dinv[i] = 1.0 / (eta * d1[i]) if d1[i] > 0 else 1.0
    for j in range(N - n):
        dinv[n + j] = 1.0 / (eta * d2[j]) if d2[j] > 0 else 1.0
    z = np.zeros(N)
    res = g.copy()
    pre = res * dinv
    p = pre.copy()
    q = np.empty(N)
    rz = 0.0
    gnorm2 = 0.0
    for i in range(N):
        rz += res[i] * pre[i]
        gnorm2 += g[i] * g[i]
    target = rtol * rtol * gnorm2
    rnorm2 = gnorm2
    it = 0
    while it < maxiter and rnorm2 > target:
        _matvec(indptr, indices, data, tindptr, tindices, tdata, d1, d2, eta, p, q)
        pq = 0.0
        for i in range(N):
            pq += p[i] * q[i]
        if not pq > 0.0:  # breakdown (direction in the kernel): stop with the last iterate
            break
        alpha = rz / pq
        rnorm2 = 0.0
        rz_new = 0.0
        for i in range(N):
            z[i] += alpha * p[i]
            res[i] -= alpha * q[i]
            pre[i] = res[i] * dinv[i]
            rnorm2 += res[i] * res[i]
            rz_new += res[i] * pre[i]
        beta = rz_new / rz
        rz = rz_new
        for i in range(N):
            p[i] = pre[i] + beta * p[i]
        it += 1
    rel = math.sqrt(rnorm2 / gnorm2) if gnorm2 > 0 else 0.0
    return z, it, rel
