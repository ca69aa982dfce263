"""Numba inner loops of :mod:`optlab.bilevel` for a quadratic lower level on NumPy arrays.

Each kernel takes the noise already drawn from the oracle's own stream (a ``(steps, dy)`` or
``(steps, dy + 1)`` array: the same numbers the generic path draws one call at a time), so the
kernels hold no random state and give the generic path's numbers up to rounding. Plain loops,
``cache=True``, no ``fastmath``; compiled on first use (one signature per dtype).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["lower_sgd_quadratic", "neumann_quadratic"]


_BLAS_MIN = 4096  # entries of A from which BLAS gemv beats the scalar loop (the loop's sum cannot vectorize)


@njit(cache=True)
def _matvec(A: np.ndarray, v: np.ndarray, out: np.ndarray) -> None:
    n, m = A.shape
    if n * m >= _BLAS_MIN:
        out[:] = np.dot(A, v)
        return
    for i in range(n):
        s = 0.0
        for j in range(m):
            s += A[i, j] * v[j]
        out[i] = s


@njit(cache=True)
def lower_sgd_quadratic(A: np.ndarray, b: np.ndarray, y: np.ndarray, gamma: float, sigma: float,
                        noise: np.ndarray, average: bool) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``steps`` SGD steps ``y <- y - gamma (A y - b + sigma zeta_n)`` on a copy of ``y``.

    Returns the last iterate, the average of the iterates after each step (when ``average``; else
    the last iterate again), and the noiseless residual norms ``||A y - b||`` before the first and
    after the last step (the caller warns when it grew).
    """
    steps = noise.shape[0]
    n = y.shape[0]
    y = y.copy()
    avg = np.zeros_like(y)
    r = np.empty_like(y)
    _matvec(A, y, r)
    res0 = 0.0
    for i in range(n):
        res0 += (r[i] - b[i]) ** 2
    for k in range(steps):
        if k > 0:
            _matvec(A, y, r)
        for i in range(n):
            y[i] -= gamma * (r[i] - b[i] + sigma * noise[k, i])
        if average:
            w = 1.0 / (k + 1)
            for i in range(n):
                avg[i] += w * (y[i] - avg[i])
    _matvec(A, y, r)
    res1 = 0.0
    for i in range(n):
        res1 += (r[i] - b[i]) ** 2
    if not average or steps == 0:
        avg[:] = y
    return y, avg, math.sqrt(res0), math.sqrt(res1)


@njit(cache=True)
def neumann_quadratic(A: np.ndarray, v: np.ndarray, c: float, sigma: float, noise: np.ndarray) -> np.ndarray:
    """Truncated Neumann series ``(1/c) sum_{q=0..Q} prod (I - H_q / c) v`` with
    ``H_q v = A v + sigma (||v|| xi_q + v eta_q) / sqrt(dy)``, ``noise[q] = (xi_q, eta_q)``."""
    q_max = noise.shape[0]
    n = v.shape[0]
    scale = sigma / math.sqrt(n)
    v = v.copy()
    p = v.copy()
    hv = np.empty_like(v)
    for q in range(q_max):
        _matvec(A, v, hv)
        nv = 0.0
        for i in range(n):
            nv += v[i] * v[i]
        nv = math.sqrt(nv)
        eta = noise[q, n]
        for i in range(n):
            hv[i] += scale * (nv * noise[q, i] + v[i] * eta)
        for i in range(n):
            v[i] -= hv[i] / c
            p[i] += v[i]
    for i in range(n):
        p[i] /= c
    return p


# Potentials of a separable upper level f(x, y) = sum_i u(x_i) + sum_j logcosh(y_j - c_j): the
# derivative u' by code. The menu is what a problem may name in ``upper_separable["x"]``.
POTENTIALS = {"quartic": 0, "cosh": 1}


@njit(cache=True)
def _du(kind: int, s: float) -> float:
    if kind == 0:
        return s * s * s - s  # (s^2 - 1)^2 / 4
    return math.sinh(s) - 4.0 * s  # cosh s - 2 s^2


@njit(cache=True)
def _norm(v: np.ndarray) -> float:
    s = 0.0
    for i in range(v.shape[0]):
        s += v[i] * v[i]
    return math.sqrt(s)


@njit(cache=True)
def grad_phi_norm(M: np.ndarray, Mt: np.ndarray, c: np.ndarray, kind: int, x: np.ndarray, buf_y: np.ndarray,
                  buf_x: np.ndarray) -> float:
    """``||u'(x) + M^T tanh(M x - c)||`` (the closed-form hypergradient of a separable upper level);
    ``Mt`` is a contiguous copy of ``M.T`` so both products read rows."""
    dy, dx = M.shape
    _matvec(M, x, buf_y)
    for j in range(dy):
        buf_y[j] = math.tanh(buf_y[j] - c[j])
    _matvec(Mt, buf_y, buf_x)
    for i in range(dx):
        buf_x[i] += _du(kind, x[i])
    return _norm(buf_x)


@njit(cache=True)
def borep_run(A, B, Bt, M, Mt, c, kind, x, y, z, m, t0, n_iter, period, n_lower, update_at_0, eta, beta, nu, gamma,
              radius, normalize, sf, sg, sh, noise_f, noise_j, noise_h, noise_g, track, avg_tol, gsum, gcount):
    """Up to ``n_iter`` BO-REP iterations (``hypergrad="z"``) in place on ``x, y, z, m``, for a quadratic
    lower level and a separable upper level (``Bt``, ``Mt``: contiguous transposes); the noise rows
    are the streams' draws for these iterations.

    Returns ``(iterations done, gsum, gcount, last ||grad Phi||, flag)`` with flag 1 when the running
    mean ``gsum / gcount <= avg_tol`` and 2 when ``||grad Phi||`` is not finite (both stop the chunk).
    """
    dy, dx = M.shape
    sqdy = math.sqrt(dy)
    b = np.empty(dy, dtype=y.dtype)
    r = np.empty(dy, dtype=y.dtype)
    gy = np.empty(dy, dtype=y.dtype)
    hz = np.empty(dy, dtype=y.dtype)
    h = np.empty(dx, dtype=x.dtype)
    bz = np.empty(dx, dtype=x.dtype)
    bx = np.empty(dx, dtype=x.dtype)
    by = np.empty(dy, dtype=y.dtype)
    ig = 0
    gn = math.nan
    for k in range(n_iter):
        t = t0 + k
        if n_lower > 0 and t % period == 0 and (t >= 1 or update_at_0):
            _matvec(B, x, b)
            for _ in range(n_lower):
                _matvec(A, y, r)
                for j in range(dy):
                    y[j] -= gamma * (r[j] - b[j] + sg * noise_g[ig, j])
                ig += 1
        # grad F at (x, y); JVP and HVP at the pre-update z
        nz = _norm(z)
        for j in range(dy):
            gy[j] = math.tanh(y[j] - c[j]) + sf * noise_f[k, dx + j]
        _matvec(Bt, z, bz)
        for i in range(dx):
            jv = -bz[i] - (sh / sqdy) * nz * noise_j[k, i]
            h[i] = _du(kind, x[i]) + sf * noise_f[k, i] - jv
        _matvec(A, z, hz)
        eta_h = noise_h[k, dy]
        for j in range(dy):
            hz[j] += (sh / sqdy) * (nz * noise_h[k, j] + z[j] * eta_h)
            z[j] -= nu * (hz[j] - gy[j])
        if radius < math.inf:
            nz = _norm(z)
            if nz > radius:
                for j in range(dy):
                    z[j] *= radius / nz
        for i in range(dx):
            m[i] = beta * m[i] + (1.0 - beta) * h[i]
        if normalize:
            scale = eta / max(_norm(m), 1e-12)
        else:
            scale = eta
        for i in range(dx):
            x[i] -= scale * m[i]
        if track:
            gn = grad_phi_norm(M, Mt, c, kind, x, by, bx)
            gsum += gn
            gcount += 1
            if not math.isfinite(gn):
                return k + 1, gsum, gcount, gn, 2
            if gsum / gcount <= avg_tol:
                return k + 1, gsum, gcount, gn, 1
    return n_iter, gsum, gcount, gn, 0
