"""Numba round loops of :mod:`optlab.online`: one fused pass over the state per round.

Same numbers as :mod:`optlab.online._generic` (to rounding) for NumPy float64 inputs.

Optimistic OMD on the ball (:func:`omd_ball`) keeps ``xhat_t = c_t lam_t z_t``: the stored vector ``z``, a scalar
``lam`` that absorbs the projections and the pending scale ``c_t`` of the second projection, with the scalars
``||y||^2``, ``<y, M>`` and ``||M||^2`` (``y = lam z``), so both projections come from scalars, not from passes.
One round is one loop over the coordinates that reads ``z``, ``M``, the mean ``mu_j`` (one of a few vectors, in
cache) and the round's noise signs (read through a byte lookup table of the packed bits), writes ``z`` and ``M``,
and sums three products; the regret increments come
from those sums and from ``<mu_j, x_t>`` and ``<eps_t, u*>`` over the supports of the means and ``u*`` (see the
comment before :func:`_pass`). Each setting of (noise, hint, curvature) has its own compiled loop.

Optimistic FTRL and optimistic FTL (:func:`ftrl_ball`) use the same trick on ``S + M``; the entropic OMD on
the simplex (:func:`omd_simplex`) takes two passes (the gradient needs ``<r, x_t>`` first) with a scalar
``exp`` per coordinate. :func:`ensemble` runs N base learners and the optimistic Hedge meta-learner.

:func:`omd_ball` is compiled with ``fastmath={"reassoc", "contract"}`` and nothing else (sums in vector lanes,
fused multiply-adds; no nnan/ninf/arcp/afn), so LLVM vectorizes its pass; the other kernels are compiled without
fastmath. The paths are compared with each other to rounding (rtol 1e-9 in the tests). Compiled on first use,
cached on disk.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["ensemble", "ftrl_ball", "omd_ball", "omd_simplex"]

_NF = 7  # record columns, see optlab.online._generic.FIELDS


# The scalar helpers below are compiled without fastmath and called, not inlined at the Numba level: inside a
# fastmath (reassoc) kernel LLVM would otherwise move their divisions into the vector loops ((e / l) * g -> (e * g) / l:
# a division per coordinate).
@njit(cache=True)
def _eta(code, A, B, t, V):
    if code == 0:
        return A / math.sqrt(B + V)
    if code == 1:
        return A / t
    if code == 2:
        return A
    return A / math.sqrt(t)


@njit(cache=True)
def _ball_scale(nn, R):
    if nn <= R * R:
        return 1.0
    return R / math.sqrt(nn)


# Optimistic OMD on the ball. The state is xhat_t = c_t y_t with y_t = lam_t z_t: z is the stored vector, lam a
# scalar that absorbs the projections (the ball's scale c is applied lazily, never by a pass), c_t the pending scale
# of the second projection, c_t = min(1, R/||y_t||). With x_t = alpha y + beta M (alpha = sx c, beta = -sx eta,
# sx the first projection's scale), one round is
#   g = a mu + s eps + k alpha lam z + k beta M,   z <- z - (eta / lam') g with lam' = c lam,   M <- g,
# one fused multiply-add per coordinate for the step. A pass over the coordinates needs only ||g - M||^2 (V's
# increment, summed directly: it is small when the gradients vary slowly, and an expansion would lose it to
# cancellation), ||g||^2 and <g, z>. The rest comes from scalars:
#   ||x||^2 = sx^2 ||c y - eta M||^2 (from ||y||^2, <y, M>, ||M||^2);
#   ||z'||^2 = ||z||^2 - 2 step <g, z> + step^2 ||g||^2 (step = eta / lam', kept as eta times a running 1/lam so no
#   division reaches the loop) and <y', g> = c <g, y> - eta ||g||^2, the next round's scalars; ||z||^2 is re-summed
#   every 1024 rounds so rounding cannot drift;
#   <g, M> = (||g||^2 + ||M||^2 - ||g - M||^2)/2; the linear loss <a mu + s eps, x> = <g, x> - k ||x||^2 with
#   <g, x> = alpha <g, y> + beta <g, M>.
# The means and u* enter through <mu_j, x_t> and <eps_t, u*>, summed over their supports (one coordinate on most
# of Family A: multiples of e_1), not over d. The noise signs of a round are looked up a byte at a time in a
# table of 256 rows of 8 values +-s (32 KiB, in L1), straight inside the noisy pass (:func:`_noisy_pass`, LLVM
# vector IR): per 8 coordinates one byte load and one 64-byte table load, no noise vector written and read back;
# in the bytes that hold the means' support a mu_j is added. That pass runs four blocks of 8 coordinates per
# iteration with four sets of accumulators (the three sums are on the round's critical path) and fused
# multiply-adds only; a noiseless round is one flat loop (:func:`_pass`) that LLVM vectorizes. [our choice] The
# noisy pass measured 0.97 ns per 8 coordinates at d = 1000 (the earlier form, which copied the table rows into a
# vector w and then ran the flat loop over z, M and w, 1.25 ns). The vectors are padded with zeros to a multiple of
# 16 (z, M, mu, 64-byte aligned) so no loop has a scalar remainder: padded lanes have g = 0 and add nothing. The
# flags NOISY, OPT, CURVED are literals, so each of the eight specializations compiles its own loop (fastmath
# reassoc/contract only: sums in vector lanes and fused multiply-adds; no nnan/ninf/arcp/afn).
_FM = {"reassoc", "contract"}
_RESYNC_MASK = 1023  # every 1024 rounds, ||y||^2 is re-summed directly
_LAM_MIN = 1e-150  # fold lam into z below this (a pass; rare: only after very many projections)


@njit(cache=True, inline="always", fastmath=_FM)
def _pass(z, M, mu, j, a, kal, kb, step, OPT, CURVED):
    """A noiseless round over the (padded) coordinates: ``g = a mu_j + kal z + kb M``; ``z <- z - step g``,
    (``OPT``) ``M <- g``; returns ``(||g - M||^2, ||g||^2, <g, z>)`` (``M = 0`` without ``OPT``). One flat loop,
    which LLVM vectorizes with lane accumulators and one horizontal reduction per sum; the length is a multiple of
    16 (two 8-lane vectors), so the scalar remainder loop never runs."""
    dd = gg = gz = 0.0
    for i in range(z.shape[0]):
        zi = z[i]
        gi = a * mu[j, i]
        if CURVED:
            gi += kal * zi
        if OPT:
            mi = M[i]
            if CURVED:
                gi += kb * mi
            q = gi - mi
            dd += q * q
            M[i] = gi
        gg += gi * gi
        gz += gi * zi
        z[i] = zi - step * gi
    if not OPT:
        dd = gg
    return dd, gg, gz


_TAB_LAST = 2048  # table rows for the last byte of a round start here (signs past coordinate d - 1 are zero)
_TAB_ZERO = 4096  # a zero row: the padding blocks past the last byte


@intrinsic
def _noisy_pass(typingctx, z, M, tab, bytes2, trow, mu2, jrow, nmu, nb, a, kal, kb, step, opt, curved):
    """The noisy round's pass with the noise read straight from the sign table (no ``w`` vector written and read).

    Per 8-lane block ``b`` of the (padded, 64-byte aligned, length a multiple of 16) vectors: ``e`` is the table
    row of byte ``bytes2[trow, b]`` (the last byte ``nb - 1`` from the second half, blocks past it from the zero
    row), plus ``a mu2[jrow, 8b : 8b + 8]`` for ``b < nmu`` (the bytes that hold the means' support);
    ``g = e + kal z + kb M`` (``g = e`` unless ``curved``); ``z <- z - step g``; if ``opt``, ``M <- g``. Returns
    ``(||g - M||^2, ||g||^2, <g, z>)`` (``||g||^2`` twice when not ``opt``). ``opt`` and ``curved`` are literal
    flags (each setting compiles its own loop).

    Written as LLVM vector IR: the blocks with a plain byte (most of them) run in a loop of four blocks per
    iteration with their own accumulators (four independent multiply-add chains per sum: the sums are on the
    round's critical path) and no per-block tests; the means' bytes, the last byte and the padding run in short
    loops with the tests. Fused multiply-adds in the order of :func:`_pass`. The rows of ``bytes2`` and ``mu2``
    are addressed here (a row view per round costs reference-count updates). No bounds checks: the caller sizes
    the vectors and the table; the 2-D arrays are C-contiguous."""
    if not (isinstance(opt, types.BooleanLiteral) and isinstance(curved, types.BooleanLiteral)):
        return None
    OPT, CURVED = opt.literal_value, curved.literal_value
    f64, i64 = types.float64, types.intp
    sig = types.UniTuple(f64, 3)(z, M, tab, bytes2, i64, mu2, i64, i64, i64, f64, f64, f64, f64, opt, curved)

    def codegen(context, builder, signature, args):
        trow, jrow, nmu_, nb_, a_, kal_, kb_, step_ = args[4], args[6], *args[7:13]
        zs = context.make_array(signature.args[0])(context, builder, args[0])
        zp, Mp, tp = (context.make_array(signature.args[k])(context, builder, args[k]).data for k in range(3))
        rows = []
        for k, r in ((3, trow), (5, jrow)):  # the start of row r of a C-contiguous 2-D array
            arr = context.make_array(signature.args[k])(context, builder, args[k])
            off = builder.mul(r, builder.extract_value(arr.strides, 0))
            p = builder.gep(builder.bitcast(arr.data, ir.IntType(8).as_pointer()), [off])
            rows.append(builder.bitcast(p, arr.data.type))
        bp, mp = rows
        ity = zs.shape.type.element
        dty = ir.DoubleType()
        vt = ir.VectorType(dty, 8)
        zero = ir.Constant(vt, [0.0] * 8)

        def const(v):
            return ir.Constant(ity, v)

        def splat(x):
            v = builder.insert_element(ir.Constant(vt, ir.Undefined), x, ir.Constant(ir.IntType(32), 0))
            return builder.shuffle_vector(v, ir.Constant(vt, ir.Undefined),
                                          ir.Constant(ir.VectorType(ir.IntType(32), 8), [0] * 8))

        fma_fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vt, [vt, vt, vt]), "llvm.fma.v8f64")

        def fma(x, y, w):  # x * y + w, one rounding
            return builder.call(fma_fn, [x, y, w])

        def vptr(base, idx):
            return builder.bitcast(builder.gep(base, [idx]), vt.as_pointer())

        def smin(x, y):
            return builder.select(builder.icmp_signed("<", x, y), x, y)

        def smax(x, y):
            return builder.select(builder.icmp_signed(">", x, y), x, y)

        av, kalv, kbv, nstep = splat(a_), splat(kal_), splat(kb_), splat(builder.fsub(ir.Constant(dty, 0.0), step_))
        accs = [cgutils.alloca_once_value(builder, zero) for _ in range(12)]  # dd, gg, gz for each of 4 chains
        ev = cgutils.alloca_once_value(builder, zero)
        last = builder.sub(nb_, const(1))

        def update(b, e, h):  # the pass over block b (coordinates 8b .. 8b + 7) with noise e, into chain h
            i = builder.shl(b, const(3))
            zb = builder.load(vptr(zp, i), align=8)
            Mb = builder.load(vptr(Mp, i), align=8) if OPT else zero  # without the hint M stays 0
            g = fma(kalv, zb, e) if CURVED else e
            if CURVED and OPT:
                g = fma(kbv, Mb, g)
            if OPT:
                q = builder.fsub(g, Mb)
                builder.store(fma(q, q, builder.load(accs[3 * h])), accs[3 * h])
                builder.store(g, vptr(Mp, i), align=8)
            builder.store(fma(g, g, builder.load(accs[3 * h + 1])), accs[3 * h + 1])
            builder.store(fma(g, zb, builder.load(accs[3 * h + 2])), accs[3 * h + 2])
            builder.store(fma(nstep, g, zb), vptr(zp, i), align=8)

        def plain(b, h):  # a block with a plain byte
            off = builder.shl(builder.zext(builder.load(builder.gep(bp, [b])), ity), const(3))
            update(b, builder.load(vptr(tp, off), align=8), h)

        def tested(b):  # any block: the means' bytes, the last byte, the padding
            byte = builder.zext(builder.load(builder.gep(bp, [smin(b, last)])), ity)
            off = builder.shl(byte, const(3))
            off = builder.select(builder.icmp_signed("==", b, last), builder.add(off, const(_TAB_LAST)), off)
            off = builder.select(builder.icmp_signed(">", b, last), const(_TAB_ZERO), off)
            builder.store(builder.load(vptr(tp, off), align=8), ev)
            with builder.if_then(builder.icmp_signed("<", b, nmu_)):
                builder.store(fma(av, builder.load(vptr(mp, builder.shl(b, const(3))), align=8),
                                  builder.load(ev)), ev)
            update(b, builder.load(ev), 0)

        nblk = builder.ashr(builder.extract_value(zs.shape, 0), const(3))
        p0 = smin(nmu_, nblk)  # blocks [0, p0): the means' bytes
        f1 = smax(p0, smin(last, nblk))  # blocks [p0, f1): plain bytes; [f1, nblk): the last byte and the padding
        with cgutils.for_range(builder, p0) as loop:
            tested(loop.index)
        n_plain = builder.sub(f1, p0)
        with cgutils.for_range(builder, builder.ashr(n_plain, const(2))) as loop:
            b0 = builder.add(p0, builder.shl(loop.index, const(2)))
            for h in range(4):
                plain(builder.add(b0, const(h)), h)
        r0 = builder.sub(f1, builder.and_(n_plain, const(3)))
        with cgutils.for_range(builder, builder.sub(f1, r0)) as loop:
            plain(builder.add(r0, loop.index), 0)
        with cgutils.for_range(builder, builder.sub(nblk, f1)) as loop:
            tested(builder.add(f1, loop.index))

        def hsum(v):  # ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))
            for sh in ([4, 5, 6, 7] * 2, [2, 3] * 4, [1] * 8):
                mask = ir.Constant(ir.VectorType(ir.IntType(32), 8), sh)
                v = builder.fadd(v, builder.shuffle_vector(v, ir.Constant(vt, ir.Undefined), mask))
            return builder.extract_element(v, ir.Constant(ir.IntType(32), 0))

        ld = [builder.load(x) for x in accs]
        sums = [hsum(builder.fadd(builder.fadd(ld[k], ld[3 + k]), builder.fadd(ld[6 + k], ld[9 + k])))
                for k in range(3)]
        return context.make_tuple(builder, signature.return_type, [sums[0] if OPT else sums[1], sums[1], sums[2]])

    return sig, codegen


@njit(cache=True)
def _zeros64(n):
    """A zero float64 vector of length ``n`` starting on a 64-byte boundary (Numba aligns arrays to 32 bytes only;
    a vector load or store that straddles two cache lines costs two, and the timings would change from run to run
    with the allocator)."""
    buf = np.zeros(n + 8)
    off = ((64 - (buf.ctypes.data & 63)) & 63) >> 3
    return buf[off:off + n]


@njit(cache=True)
def _support(v):
    """Indices of the columns of a matrix with a non-zero entry."""
    nz = np.zeros(v.shape[1], dtype=np.bool_)
    for r in range(v.shape[0]):
        for i in range(v.shape[1]):
            if v[r, i] != 0.0:
                nz[i] = True
    return np.nonzero(nz)[0]


@njit(cache=True, inline="always", fastmath=_FM)
def _omd_ball(means, mean_idx, mean_sign, bytes_, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
              xsum, NOISY, OPT, CURVED):
    """The round loop of :func:`omd_ball` for one setting of the literal flags (see the comment above)."""
    d = x0.shape[0]
    out = np.full((rec.shape[0], _NF), np.nan)
    dp = ((d + 15) >> 4) << 4  # the vectors padded with zeros to whole 16-lane steps: no scalar remainder loop
    z = _zeros64(dp)
    z[:d] = x0
    M = _zeros64(dp)
    mupf = _zeros64(means.shape[0] * dp)
    mup = mupf.reshape((means.shape[0], dp))
    mup[:, :d] = means
    lam = 1.0
    ilam = 1.0  # 1 / lam, by products (no division per round)
    c = 1.0
    ic = 1.0  # 1 / c
    inv_R = 1.0 / R
    zn = 0.0  # ||z||^2; ||y||^2 = lam^2 zn
    for i in range(d):
        zn += z[i] * z[i]
    yy = zn
    yM = 0.0
    MM = 0.0
    V = 0.0
    uu = 0.0
    for i in range(d):
        uu += u_star[i] * u_star[i]
    mu_u = means @ u_star
    S_mu = _support(means)
    S_u = _support(u_star.reshape((1, d)))
    mu_bytes = (S_mu[-1] >> 3) + 1 if S_mu.shape[0] > 0 else 0  # the means are zero past these bytes' coordinates
    nb = (d + 7) >> 3  # bytes of noise signs per round (8 coordinates each)
    # byte v -> its 8 signs times s at 8 v .. 8 v + 7 (bit m set: +s); the second half for the last byte, zero past
    # coordinate d - 1 (the bits there are drawn but are no coordinate's). 32 KiB: stays in L1.
    tab = _zeros64(_TAB_ZERO + 8)
    for v in range(256):
        for m in range(8):
            e = s if (v >> m) & 1 else -s
            tab[(v << 3) + m] = e
            tab[_TAB_LAST + (v << 3) + m] = e if ((nb - 1) << 3) + m < d else 0.0
    avg = xsum.shape[0] > 0
    c_loss = 0.0
    c_reg = 0.0
    c_pse = 0.0
    c_dyn = 0.0
    ri = 0
    x_last = np.zeros(d)
    for t in range(1, T + 1):
        eta = _eta(code, A, B, t, V)
        zz = max(c * c * yy - 2.0 * c * eta * yM + eta * eta * MM, 0.0)
        sx = _ball_scale(zz, R)
        alpha = sx * c
        beta = -sx * eta
        al = alpha * lam  # x_t = al z + beta M
        j = mean_idx[t - 1]
        a = mean_sign[t - 1]
        k = curvature[t - 1]
        # <mu_j, x_t> and <eps_t, u*> over the supports (before the pass overwrites z and M)
        mux = 0.0
        for ii in range(S_mu.shape[0]):
            i = S_mu[ii]
            mux += means[j, i] * (al * z[i] + beta * M[i])
        eu = 0.0  # <s eps_t, u*>
        if NOISY:  # the noise enters the pass straight from the sign table (see _noisy_pass)
            for ii in range(S_u.shape[0]):
                i = S_u[ii]
                eu += tab[(np.intp(bytes_[t - 1, i >> 3]) << 3) + (i & 7)] * u_star[i]
        if avg:
            for i in range(d):
                xsum[i] += al * z[i] + beta * M[i]
        if t == T:  # the played point of the last round
            for i in range(d):
                x_last[i] = al * z[i] + beta * M[i]
        lam_new = c * lam
        ilam = ilam * ic
        step = eta * ilam  # eta / lam_new
        kal = k * al
        kb = k * beta
        if NOISY:
            dd, gg, gz = _noisy_pass(z, M, tab, bytes_, t - 1, mup, j, mu_bytes, nb, a, kal, kb, step, OPT,
                                      CURVED)
        else:
            dd, gg, gz = _pass(z, M, mup, j, a, kal, kb, step, OPT, CURVED)
        gy = lam * gz  # <g, y>
        xx = sx * sx * zz  # ||x_t||^2
        gM = 0.5 * (gg + MM - dd)  # <g_t, M_t>
        lin_x = alpha * gy + beta * gM - k * xx  # <a mu + s eps, x_t>
        lin_u = a * mu_u[j] + eu
        c_loss += lin_x + 0.5 * k * xx
        c_reg += lin_x - lin_u + 0.5 * k * (xx - uu)
        c_pse += a * (mux - mu_u[j]) + 0.5 * kappa * (xx - uu)
        c_dyn += a * mux + 0.5 * kappa * xx - fstar[j, 1 if a < 0 else 0]
        V += dd
        zn = max(zn - 2.0 * step * gz + step * step * gg, 0.0)
        if OPT:
            yM = c * gy - eta * gg
            MM = gg
        lam = lam_new
        if lam < _LAM_MIN or (t & _RESYNC_MASK) == 0:
            if lam < _LAM_MIN:
                for i in range(d):
                    z[i] *= lam
                lam = 1.0
                ilam = 1.0
            zn = 0.0
            for i in range(d):
                zn += z[i] * z[i]
        yy = lam * lam * zn
        c = 1.0
        ic = 1.0
        if yy > R * R:
            r = math.sqrt(yy)
            c = R / r
            ic = r * inv_R
        if ri < rec.shape[0] and rec[ri] == t:
            out[ri, 0] = c_loss
            out[ri, 1] = c_reg
            out[ri, 2] = c_pse
            out[ri, 3] = c_dyn
            out[ri, 4] = V
            out[ri, 5] = eta
            out[ri, 6] = math.sqrt(gg)
            ri += 1
    return x_last, out


@njit(cache=True, fastmath=_FM)
def _omd_ball_111(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                  xsum):
    return _omd_ball(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                     xsum, True, True, True)


@njit(cache=True, fastmath=_FM)
def _omd_ball_110(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                  xsum):
    return _omd_ball(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                     xsum, True, True, False)


@njit(cache=True, fastmath=_FM)
def _omd_ball_101(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                  xsum):
    return _omd_ball(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                     xsum, True, False, True)


@njit(cache=True, fastmath=_FM)
def _omd_ball_100(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                  xsum):
    return _omd_ball(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                     xsum, True, False, False)


@njit(cache=True, fastmath=_FM)
def _omd_ball_011(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                  xsum):
    return _omd_ball(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                     xsum, False, True, True)


@njit(cache=True, fastmath=_FM)
def _omd_ball_010(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                  xsum):
    return _omd_ball(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                     xsum, False, True, False)


@njit(cache=True, fastmath=_FM)
def _omd_ball_001(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                  xsum):
    return _omd_ball(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                     xsum, False, False, True)


@njit(cache=True, fastmath=_FM)
def _omd_ball_000(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                  xsum):
    return _omd_ball(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
                     xsum, False, False, False)


# (noisy, optimism, curved) -> the round loop specialized to those flags: one compiled function each (compiled on
# first use, cached on disk), since the eight pass bodies inlined behind runtime branches in one function cost about
# 4x at d = 10 (register spills), and a pass called through a function argument is not inlined (+10 ns a round).
_OMD_BALL = {
    (True, True, True): _omd_ball_111,
    (True, True, False): _omd_ball_110,
    (True, False, True): _omd_ball_101,
    (True, False, False): _omd_ball_100,
    (False, True, True): _omd_ball_011,
    (False, True, False): _omd_ball_010,
    (False, False, True): _omd_ball_001,
    (False, False, False): _omd_ball_000,
}


def omd_ball(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B,
             optimism, xsum):
    """Optimistic OMD (Euclidean, ball) on ``"linquad"`` losses; returns ``(x_T, records)``. A non-empty ``xsum``
    accumulates ``sum_t x_t`` (for the averaged iterate). Picks the loop compiled for the problem's flags (noise,
    hint, curvature); each is compiled on first use and cached on disk."""
    fn = _OMD_BALL[(bool(s != 0.0), bool(optimism), bool(np.any(curvature[:T] != 0.0)))]
    bytes_ = np.ascontiguousarray(bits, dtype="<u8").view(np.uint8)  # byte b of a row: the signs of 8b .. 8b + 7
    return fn(means, mean_idx, mean_sign, bytes_, s, curvature, kappa, fstar, T, R, x0, u_star, rec, code, A, B, xsum)


@njit(cache=True)
def ftrl_ball(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, mode, D, nu,
              mu_sc):
    """Optimistic FTRL (``mode=0``) or optimistic FTL on strongly convex surrogates (``mode=1``); see
    :func:`optlab.online._generic.ftrl_ball_generic`. Returns ``(x_T, records)``."""
    d = x0.shape[0]
    out = np.full((rec.shape[0], _NF), np.nan)
    S = np.zeros(d)
    M = np.zeros(d)
    SS = 0.0
    SM = 0.0
    MM = 0.0
    V = 0.0
    uu = 0.0
    for i in range(d):
        uu += u_star[i] * u_star[i]
    mu_u = means @ u_star
    noisy = s != 0.0
    c_loss = 0.0
    c_reg = 0.0
    c_pse = 0.0
    c_dyn = 0.0
    ri = 0
    x_last = x0.copy()
    inv_mu = 1.0 / mu_sc if mode == 1 else 0.0
    eta = D * D / nu if mode == 0 else inv_mu
    for t in range(1, T + 1):
        # x_t = alpha * (S + beta M) projected, or x0 at the first FTL round
        if mode == 0:
            eta = D * D / (nu + V)
            alpha = -0.5 * eta
            beta = 1.0
        else:
            alpha = 1.0 / (t - 1) if t > 1 else 0.0
            beta = -inv_mu
        zz = alpha * alpha * (SS + 2.0 * beta * SM + beta * beta * MM)
        sc = alpha * _ball_scale(max(zz, 0.0), R)
        first_ftl = mode == 1 and t == 1
        j = mean_idx[t - 1]
        a = mean_sign[t - 1]
        k = curvature[t - 1]
        mu = means[j]
        xx = 0.0
        mux = 0.0
        ex = 0.0
        eu = 0.0
        dd = 0.0
        gg = 0.0
        SS_new = 0.0
        Sg = 0.0
        row = bits[t - 1]
        for i in range(d):
            e = 0.0
            if noisy:
                w = row[i >> 6]
                e = 2.0 * np.float64((w >> np.uint64(i & 63)) & np.uint64(1)) - 1.0
            Si = S[i]
            Mi = M[i]
            xi = x0[i] if first_ftl else sc * (Si + beta * Mi)
            gi = a * mu[i] + s * e + k * xi
            xx += xi * xi
            mux += mu[i] * xi
            ex += e * xi
            if noisy:
                eu += e * u_star[i]
            di = gi - Mi
            dd += di * di
            gg += gi * gi
            if mode == 0:
                Sn = Si + gi
            else:
                Sn = Si + xi - inv_mu * gi
            SS_new += Sn * Sn
            Sg += Sn * gi
            S[i] = Sn
            M[i] = gi
            x_last[i] = xi
        lin_x = a * mux + s * ex
        lin_u = a * mu_u[j] + s * eu
        c_loss += lin_x + 0.5 * k * xx
        c_reg += lin_x - lin_u + 0.5 * k * (xx - uu)
        c_pse += a * (mux - mu_u[j]) + 0.5 * kappa * (xx - uu)
        c_dyn += a * mux + 0.5 * kappa * xx - fstar[j, 1 if a < 0 else 0]
        if mode == 0:
            V += eta * dd
        else:
            V += dd
        SS = SS_new
        SM = Sg
        MM = gg
        if ri < rec.shape[0] and rec[ri] == t:
            out[ri, 0] = c_loss
            out[ri, 1] = c_reg
            out[ri, 2] = c_pse
            out[ri, 3] = c_dyn
            out[ri, 4] = V
            out[ri, 5] = eta
            out[ri, 6] = math.sqrt(gg)
            ri += 1
    return x_last, out


@njit(cache=True)
def omd_simplex(returns, ret_idx, law, law_idx, T, x0, u_star, rec, code, A, B, optimism):
    """Optimistic OMD with the negative-entropy regularizer on the simplex, portfolio losses."""
    d = x0.shape[0]
    K = returns.shape[0]
    out = np.full((rec.shape[0], _NF), np.nan)
    log_ru = np.log(returns @ u_star)
    xhat = x0.copy()
    M = np.zeros(d)
    x = np.zeros(d)
    rx = np.zeros(K)
    V = 0.0
    c_loss = 0.0
    c_reg = 0.0
    c_pse = 0.0
    ri = 0
    for t in range(1, T + 1):
        eta = _eta(code, A, B, t, V)
        Z = 0.0
        for i in range(d):
            w = xhat[i] * math.exp(-eta * M[i])
            x[i] = w
            Z += w
        for kk in range(K):
            rx[kk] = 0.0
        for i in range(d):
            xi = x[i] / Z
            x[i] = xi
            for kk in range(K):
                rx[kk] += returns[kk, i] * xi
        j = ret_idx[t - 1]
        q = rx[j]
        loss = -math.log(q)
        c_loss += loss
        c_reg += log_ru[j] + loss
        lw = law[law_idx[t - 1]]
        for kk in range(K):
            c_pse += lw[kk] * (log_ru[kk] - math.log(rx[kk]))
        dmax = 0.0
        gg = 0.0
        Zh = 0.0
        for i in range(d):
            gi = -returns[j, i] / q
            di = abs(gi - M[i])
            if di > dmax:
                dmax = di
            gg += gi * gi
            v = xhat[i] * math.exp(-eta * gi)
            xhat[i] = v
            Zh += v
            if optimism:
                M[i] = gi
        for i in range(d):
            xhat[i] /= Zh
        V += dmax * dmax
        if ri < rec.shape[0] and rec[ri] == t:
            out[ri, 0] = c_loss
            out[ri, 1] = c_reg
            out[ri, 2] = c_pse
            out[ri, 4] = V
            out[ri, 5] = eta
            out[ri, 6] = math.sqrt(gg)
            ri += 1
    return x, out


@njit(cache=True)
def ensemble(means, mean_idx, mean_sign, bits, s, curvature, kappa, fstar, T, R, x0, u_star, rec, etas, meta_scale,
             optimism):
    """Optimistic OMD bases with fixed steps and an optimistic Hedge meta-learner (see
    :func:`optlab.online._generic.ensemble_generic`). Returns ``(x_T, records, p_T)``."""
    d = x0.shape[0]
    N = etas.shape[0]
    out = np.full((rec.shape[0], _NF), np.nan)
    xhat = np.empty((N, d))
    for n in range(N):
        xhat[n] = x0
    xs = np.empty((N, d))
    M = np.zeros(d)
    g = np.zeros(d)
    x = np.zeros(d)
    Lcum = np.zeros(N)
    m = np.zeros(N)
    p = np.full(N, 1.0 / N)
    W = 0.0
    V = 0.0
    uu = 0.0
    for i in range(d):
        uu += u_star[i] * u_star[i]
    mu_u = means @ u_star
    logN = math.log(N) if N > 1 else 1.0
    c_loss = 0.0
    c_reg = 0.0
    c_pse = 0.0
    c_dyn = 0.0
    ri = 0
    for t in range(1, T + 1):
        for n in range(N):
            nz = 0.0
            for i in range(d):
                z = xhat[n, i] - etas[n] * M[i]
                xs[n, i] = z
                nz += z * z
            sc = R / max(math.sqrt(nz), 1e-300)
            if sc > 1.0:
                sc = 1.0
            mn = 0.0
            for i in range(d):
                xs[n, i] *= sc
                mn += xs[n, i] * M[i]
            m[n] = mn
        eps_t = math.sqrt(logN) / math.sqrt(meta_scale * meta_scale + W)
        lmax = -np.inf
        for n in range(N):
            p[n] = -eps_t * (Lcum[n] + m[n])
            if p[n] > lmax:
                lmax = p[n]
        Zp = 0.0
        for n in range(N):
            p[n] = math.exp(p[n] - lmax)
            Zp += p[n]
        for n in range(N):
            p[n] /= Zp
        for i in range(d):
            acc = 0.0
            for n in range(N):
                acc += p[n] * xs[n, i]
            x[i] = acc
        j = mean_idx[t - 1]
        a = mean_sign[t - 1]
        k = curvature[t - 1]
        row = bits[t - 1]
        xx = 0.0
        mux = 0.0
        ex = 0.0
        eu = 0.0
        dd = 0.0
        gg = 0.0
        for i in range(d):
            e = 0.0
            if s != 0.0:
                w = row[i >> 6]
                e = 2.0 * np.float64((w >> np.uint64(i & 63)) & np.uint64(1)) - 1.0
            xi = x[i]
            gi = a * means[j, i] + s * e + k * xi
            g[i] = gi
            xx += xi * xi
            mux += means[j, i] * xi
            ex += e * xi
            eu += e * u_star[i]
            di = gi - M[i]
            dd += di * di
            gg += gi * gi
        lin_x = a * mux + s * ex
        lin_u = a * mu_u[j] + s * eu
        c_loss += lin_x + 0.5 * k * xx
        c_reg += lin_x - lin_u + 0.5 * k * (xx - uu)
        c_pse += a * (mux - mu_u[j]) + 0.5 * kappa * (xx - uu)
        c_dyn += a * mux + 0.5 * kappa * xx - fstar[j, 1 if a < 0 else 0]
        V += dd
        wmax = 0.0
        for n in range(N):
            ell = 0.0
            for i in range(d):
                ell += xs[n, i] * g[i]
            diff = abs(ell - m[n])
            if diff > wmax:
                wmax = diff
            Lcum[n] += ell
            ny = 0.0
            for i in range(d):
                yv = xhat[n, i] - etas[n] * g[i]
                xhat[n, i] = yv
                ny += yv * yv
            sc = R / max(math.sqrt(ny), 1e-300)
            if sc < 1.0:
                for i in range(d):
                    xhat[n, i] *= sc
        W += wmax * wmax
        if optimism:
            for i in range(d):
                M[i] = g[i]
        if ri < rec.shape[0] and rec[ri] == t:
            out[ri, 0] = c_loss
            out[ri, 1] = c_reg
            out[ri, 2] = c_pse
            out[ri, 3] = c_dyn
            out[ri, 4] = V
            out[ri, 5] = eps_t
            out[ri, 6] = math.sqrt(gg)
            ri += 1
    return x, out, p
