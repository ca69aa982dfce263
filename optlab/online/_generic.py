"""The generic round loops: array-API code in the namespace of ``x0`` (NumPy, CuPy, ``array_api_strict``).

Same algebra as the Numba kernels of :mod:`optlab.online._kernels`, written directly (projection by norm,
no lazy scaling), so the two paths check each other. Scalars stay 0-D arrays of the namespace and are
converted to host floats only at recorded rounds. The per-round noise signs are unpacked on the host
(NumPy) and moved to the namespace of ``x0``: the losses are data, the learner's arithmetic is generic.

Trace columns (``FIELDS``): cumulative loss ``sum f_t(x_t)``, realized regret ``sum f_t(x_t) - f_t(u*)``,
pseudo-regret ``sum F_t(x_t) - F_t(u*)``, dynamic regret ``sum F_t(x_t) - min F_t`` (NaN where the
problem has no per-round minimum), the learner's variation ``V_t`` (what its step size reads), the step
``eta_t`` and ``||g_t||``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["FIELDS", "ensemble_generic", "ftrl_ball_generic", "omd_ball_generic", "omd_simplex_generic",
           "schedule_eta", "signs"]

FIELDS = ("loss", "regret", "pseudo_regret", "dynamic_regret", "V", "eta", "grad_norm")

# schedule codes shared with the kernels: eta_t = A / sqrt(B + V_{t-1}), A / t, A, A / sqrt(t)
ADAPTIVE, INV_T, FIXED, INV_SQRT_T = 0, 1, 2, 3


def schedule_eta(code: int, A: float, B: float, t: int, V: Any, xp: Any) -> Any:
    """The step ``eta_t`` of a schedule code (``V`` is ``V_{t-1}``, never ``V_t``)."""
    if code == ADAPTIVE:
        return A / xp.sqrt(B + V)
    if code == INV_T:
        return A / t
    if code == FIXED:
        return A
    return A / math.sqrt(t)


def signs(bits_row: np.ndarray, d: int) -> np.ndarray:
    """Signs in ``{-1, +1}^d`` of one row of packed noise bits (bit ``i`` set means ``+1``)."""
    b = np.unpackbits(np.ascontiguousarray(bits_row, dtype="<u8").view(np.uint8), bitorder="little")[:d]
    return 2.0 * b.astype(np.float64) - 1.0


def _proj_ball(z: Any, R: float, xp: Any) -> Any:
    n = xp.linalg.vector_norm(z)
    return z * xp.minimum(xp.ones_like(n), R / xp.maximum(n, xp.full_like(n, 1e-300)))


class _Recorder:
    """Host-side record buffers filled at the recorded rounds."""

    def __init__(self, rec: np.ndarray) -> None:
        self.rec = rec
        self.out = np.full((len(rec), len(FIELDS)), np.nan)
        self.i = 0

    def due(self, t: int) -> bool:
        return self.i < len(self.rec) and t == self.rec[self.i]

    def put(self, *values: Any) -> None:
        self.out[self.i] = [float(v) for v in values]
        self.i += 1


def _linquad_round(st: dict, t: int, like: Any, xp: Any, d: int) -> tuple[Any, Any, float, float, int]:
    """``(mu_t, eps_t, a_t, k_t, j_t)`` of round ``t`` (0-based) in the namespace of ``like``."""
    j = int(st["mean_idx"][t])
    a = float(st["mean_sign"][t])
    mu = xp.asarray(st["means"][j], dtype=like.dtype, device=like.device)
    eps = None
    if st["noise_scale"] != 0.0:
        eps = xp.asarray(signs(st["noise_bits"][t], d), dtype=like.dtype, device=like.device)
    return mu, eps, a, float(st["curvature"][t]), j


def _linquad_increments(st: dict, mu: Any, eps: Any, a: float, k: float, j: int, x: Any, u: Any, uu: Any,
                        mu_u: np.ndarray, xp: Any) -> tuple[Any, Any, Any, Any]:
    """Per-round (loss, realized regret, pseudo-regret, dynamic regret) increments at ``x``."""
    s, kappa = float(st["noise_scale"]), float(st["kappa"])
    xx = xp.sum(x * x)
    mux = xp.sum(mu * x)
    muu = float(mu_u[j])
    lin_x, lin_u = a * mux, a * muu
    if eps is not None:
        lin_x = lin_x + s * xp.sum(eps * x)
        lin_u = lin_u + s * xp.sum(eps * u)
    loss = lin_x + 0.5 * k * xx
    regret = lin_x - lin_u + 0.5 * k * (xx - uu)
    pseudo = a * (mux - muu) + 0.5 * kappa * (xx - uu)
    dyn = a * mux + 0.5 * kappa * xx - float(st["fstar"][j, 1 if a < 0 else 0])
    return loss, regret, pseudo, dyn


def _linquad_play(st: dict, t: int, x: Any, like: Any, u: Any, uu: Any, mu_u: np.ndarray, xp: Any,
                  d: int) -> tuple[Any, tuple[Any, Any, Any, Any]]:
    """Round ``t`` (0-based) played at ``x``: the gradient ``g_t`` and the four increments of
    :func:`_linquad_increments`."""
    mu, eps, a, k, j = _linquad_round(st, t, like, xp, d)
    g = a * mu + k * x
    if eps is not None:
        g = g + float(st["noise_scale"]) * eps
    return g, _linquad_increments(st, mu, eps, a, k, j, x, u, uu, mu_u, xp)


def omd_ball_generic(st: dict, T: int, R: float, x0: Any, u_star: np.ndarray, rec: np.ndarray, code: int, A: float,
                     B: float, optimism: bool, average: bool = False) -> tuple[Any, np.ndarray, Any]:
    """Optimistic OMD, Euclidean regularizer, ball ``B(0, R)``, ``"linquad"`` losses (see the module doc).
    Returns the last point, the records and ``sum_t x_t`` (``None`` unless ``average``)."""
    from optlab.backend import namespace

    xp = namespace(x0)
    d = x0.shape[0]
    u = xp.asarray(u_star, dtype=x0.dtype, device=x0.device)
    uu = xp.sum(u * u)
    mu_u = st["means"] @ u_star
    xhat = x0
    M = xp.zeros_like(x0)
    V = xp.zeros((), dtype=x0.dtype, device=x0.device)
    acc = [xp.zeros((), dtype=x0.dtype, device=x0.device) for _ in range(4)]
    recd = _Recorder(rec)
    x = x0
    xsum = xp.zeros_like(x0) if average else None
    for t in range(1, T + 1):
        eta = schedule_eta(code, A, B, t, V, xp)
        x = _proj_ball(xhat - eta * M, R, xp)
        if average:
            xsum = xsum + x
        g, inc = _linquad_play(st, t - 1, x, x0, u, uu, mu_u, xp, d)
        acc = [c + i for c, i in zip(acc, inc, strict=True)]
        diff = g - M
        V = V + xp.sum(diff * diff)
        xhat = _proj_ball(xhat - eta * g, R, xp)
        if optimism:
            M = g
        if recd.due(t):
            recd.put(*acc, V, eta, xp.linalg.vector_norm(g))
    return x, recd.out, xsum


def ftrl_ball_generic(st: dict, T: int, R: float, x0: Any, u_star: np.ndarray, rec: np.ndarray, mode: int,
                      D: float, nu: float, mu_sc: float) -> tuple[Any, np.ndarray]:
    """Optimistic FTRL (``mode=0``, Sachs et al. Thm 5) or optimistic FTL on strongly convex surrogates
    (``mode=1``, Thm 7), ball ``B(0, R)``, ``"linquad"`` losses; ``M_t = g_{t-1}``.

    ``mode=0``: ``x_t = Pi(-(eta_t/2)(S_{t-1} + M_t))``, ``eta_t = D^2/(nu + sum_{s<t} eta_s ||g_s - M_s||^2)``.
    ``mode=1``: ``x_t = Pi((A_{t-1} - M_t/mu) / (t-1))`` with ``A_{t-1} = sum_{s<t}(x_s - g_s/mu)``, ``x_1 = x0``.
    """
    from optlab.backend import namespace

    xp = namespace(x0)
    d = x0.shape[0]
    u = xp.asarray(u_star, dtype=x0.dtype, device=x0.device)
    uu = xp.sum(u * u)
    mu_u = st["means"] @ u_star
    S = xp.zeros_like(x0)
    M = xp.zeros_like(x0)
    V = xp.zeros((), dtype=x0.dtype, device=x0.device)
    acc = [xp.zeros((), dtype=x0.dtype, device=x0.device) for _ in range(4)]
    recd = _Recorder(rec)
    x = x0
    eta = xp.asarray(D * D / nu, dtype=x0.dtype, device=x0.device) if mode == 0 else 1.0 / mu_sc
    for t in range(1, T + 1):
        if mode == 0:
            eta = D * D / (nu + V)
            x = _proj_ball(-0.5 * eta * (S + M), R, xp)
        else:
            x = x0 if t == 1 else _proj_ball((S - M / mu_sc) / (t - 1), R, xp)
        g, inc = _linquad_play(st, t - 1, x, x0, u, uu, mu_u, xp, d)
        acc = [c + i for c, i in zip(acc, inc, strict=True)]
        diff = g - M
        if mode == 0:
            V = V + eta * xp.sum(diff * diff)
            S = S + g
        else:
            V = V + xp.sum(diff * diff)
            S = S + x - g / mu_sc
        M = g
        if recd.due(t):
            recd.put(*acc, V, eta, xp.linalg.vector_norm(g))
    return x, recd.out


def omd_simplex_generic(st: dict, T: int, x0: Any, u_star: np.ndarray, rec: np.ndarray, code: int, A: float,
                        B: float, optimism: bool) -> tuple[Any, np.ndarray]:
    """Optimistic OMD, negative-entropy regularizer, simplex, ``"portfolio"`` losses.

    ``x_t = xhat_t exp(-eta_t M_t) / Z``, ``xhat_{t+1} = xhat_t exp(-eta_t g_t) / Z'``; ``V`` sums
    ``||g_t - M_t||_inf^2`` (the dual norm of the l1 geometry). ``dynamic_regret`` is NaN.
    """
    from optlab.backend import namespace

    xp = namespace(x0)
    r = xp.asarray(st["returns"], dtype=x0.dtype, device=x0.device)
    log_ru = np.log(st["returns"] @ u_star)
    law, law_idx, ret_idx = st["law"], st["law_idx"], st["ret_idx"]
    xhat = x0
    M = xp.zeros_like(x0)
    V = xp.zeros((), dtype=x0.dtype, device=x0.device)
    acc = [xp.zeros((), dtype=x0.dtype, device=x0.device) for _ in range(3)]
    recd = _Recorder(rec)
    x = x0
    for t in range(1, T + 1):
        eta = schedule_eta(code, A, B, t, V, xp)
        w = xhat * xp.exp(-eta * M)
        x = w / xp.sum(w)
        rx = xp.sum(r * x[None, :], axis=1)
        j = int(ret_idx[t - 1])
        g = -r[j, :] / rx[j]
        lw = law[law_idx[t - 1]]
        loss = -xp.log(rx[j])
        acc[0] = acc[0] + loss
        acc[1] = acc[1] + float(log_ru[j]) + loss
        acc[2] = acc[2] + xp.sum(xp.asarray(lw, dtype=x0.dtype, device=x0.device)
                                 * (xp.asarray(log_ru, dtype=x0.dtype, device=x0.device) - xp.log(rx)))
        V = V + xp.max(xp.abs(g - M)) ** 2
        v = xhat * xp.exp(-eta * g)
        xhat = v / xp.sum(v)
        if optimism:
            M = g
        if recd.due(t):
            recd.put(*acc, math.nan, V, eta, xp.linalg.vector_norm(g))
    return x, recd.out


def ensemble_generic(st: dict, T: int, R: float, x0: Any, u_star: np.ndarray, rec: np.ndarray, etas: np.ndarray,
                     meta_scale: float, optimism: bool) -> tuple[Any, np.ndarray, np.ndarray]:
    """Dynamic-regret ensemble: optimistic OMD bases with fixed ``etas`` and an optimistic Hedge meta-learner.

    Base ``i``: ``x_{t,i} = Pi(xhat_{t,i} - eta_i M_t)``, ``xhat_{t+1,i} = Pi(xhat_{t,i} - eta_i g_t)``. Meta:
    ``p_t ~ exp(-eps_t (L_{t-1} + m_t))`` with ``l_{t,i} = <g_t, x_{t,i}>``, ``m_{t,i} = <M_t, x_{t,i}>`` and
    ``eps_t = sqrt(log N) / sqrt(meta_scale^2 + sum_{s<t} ||l_s - m_s||_inf^2)``; plays ``x_t = sum p_i x_{t,i}``.
    Returns the last point, the records and the final weights ``p``.
    """
    from optlab.backend import namespace

    xp = namespace(x0)
    d = x0.shape[0]
    N = len(etas)
    e = xp.asarray(etas, dtype=x0.dtype, device=x0.device)[:, None]
    u = xp.asarray(u_star, dtype=x0.dtype, device=x0.device)
    uu = xp.sum(u * u)
    mu_u = st["means"] @ u_star
    xhat = xp.broadcast_to(x0[None, :], (N, d))
    M = xp.zeros_like(x0)
    Lcum = xp.zeros(N, dtype=x0.dtype, device=x0.device)
    W = xp.zeros((), dtype=x0.dtype, device=x0.device)
    V = xp.zeros((), dtype=x0.dtype, device=x0.device)
    acc = [xp.zeros((), dtype=x0.dtype, device=x0.device) for _ in range(4)]
    recd = _Recorder(rec)
    logN = math.log(N) if N > 1 else 1.0
    x = x0
    p = xp.full(N, 1.0 / N, dtype=x0.dtype, device=x0.device)
    for t in range(1, T + 1):
        z = xhat - e * M[None, :]
        nz = xp.linalg.vector_norm(z, axis=1)
        xs = z * xp.minimum(xp.ones_like(nz), R / xp.maximum(nz, xp.full_like(nz, 1e-300)))[:, None]
        m = xp.sum(xs * M[None, :], axis=1)
        eps_t = math.sqrt(logN) / xp.sqrt(meta_scale**2 + W)
        logits = -eps_t * (Lcum + m)
        p = xp.exp(logits - xp.max(logits))
        p = p / xp.sum(p)
        x = xp.sum(p[:, None] * xs, axis=0)
        g, inc = _linquad_play(st, t - 1, x, x0, u, uu, mu_u, xp, d)
        acc = [c + i for c, i in zip(acc, inc, strict=True)]
        ell = xp.sum(xs * g[None, :], axis=1)
        W = W + xp.max(xp.abs(ell - m)) ** 2
        Lcum = Lcum + ell
        diff = g - M
        V = V + xp.sum(diff * diff)
        y = xhat - e * g[None, :]
        ny = xp.linalg.vector_norm(y, axis=1)
        xhat = y * xp.minimum(xp.ones_like(ny), R / xp.maximum(ny, xp.full_like(ny, 1e-300)))[:, None]
        if optimism:
            M = g
        if recd.due(t):
            recd.put(*acc, V, eps_t, xp.linalg.vector_norm(g))
    return x, recd.out, p
