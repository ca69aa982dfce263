"""Numba kernel: per-sample gradients of a generalized linear model and the test statistics, fused.

For a finite sum whose per-sample gradients are ``s_i = c_i a_i + r`` with
``c_i = -y_i sigma(-y_i a_i^T x)`` (logistic loss, P-A4) and a common term ``r``,
:func:`glm_stats` returns what :func:`optlab.batching._stats.batch_statistics` returns
for the explicit matrix of the ``s_i`` (same numbers up to rounding), without forming it:

1. one pass over the batch rows ``a_i`` (``i`` in ``idx``): margin, ``c_i`` (kept, one
   float per row), and the accumulation of ``g = (1/b) sum_i c_i a_i + r``;
2. one pass over the first ``m`` rows (the test sub-batch, re-read while it is in cache):
   Welford updates of the per-coordinate means and squared deviations of ``s_i`` and of the
   scalar ``<s_i, g>``, which give the Bessel variances ``V_j`` and ``Var_i <s_i, g>``.

Memory is ``O(b + d)`` instead of the ``O(b d)`` of the explicit per-sample gradients.
Everything is float64 (``x`` and ``r`` are converted), single thread, fixed summation order:
deterministic. ``fastmath`` is off: the statistics are what is being verified. Compiled on
first use (one signature), cached on disk.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from optlab.batching._stats import BatchStats

__all__ = ["glm_stats"]


@njit(cache=True, fastmath=False)
def _glm_pass(A: np.ndarray, y: np.ndarray, idx: np.ndarray, x: np.ndarray, r: np.ndarray,
              m: int) -> tuple[np.ndarray, np.ndarray, float]:
    b = idx.shape[0]
    d = A.shape[1]
    c = np.empty(b)
    acc = np.zeros(d)
    for t in range(b):
        i = idx[t]
        dot = 0.0
        for j in range(d):
            dot += A[i, j] * x[j]
        z = y[i] * dot
        # sigma(-z) without overflow
        if z > 0:
            e = math.exp(-z)
            sig = e / (1.0 + e)
        else:
            sig = 1.0 / (1.0 + math.exp(z))
        ci = -y[i] * sig
        c[t] = ci
        for j in range(d):
            acc[j] += ci * A[i, j]
    g = np.empty(d)
    for j in range(d):
        g[j] = acc[j] / b + r[j]
    mean = np.zeros(d)
    m2 = np.zeros(d)
    pmean = 0.0
    pm2 = 0.0
    for t in range(m):
        i = idx[t]
        ci = c[t]
        inv = 1.0 / (t + 1)
        p = 0.0
        for j in range(d):
            s = ci * A[i, j] + r[j]
            p += s * g[j]
            delta = s - mean[j]
            mean[j] += delta * inv
            m2[j] += delta * (s - mean[j])
        delta = p - pmean
        pmean += delta * inv
        pm2 += delta * (p - pmean)
    if m < 2:
        return g, np.full(d, np.nan), np.nan
    return g, m2 / (m - 1), pm2 / (m - 1)


def glm_stats(A: np.ndarray, y: np.ndarray, idx: np.ndarray, x: np.ndarray, r: np.ndarray,
              m_test: int) -> BatchStats:
    """Batch mean and test statistics of a logistic GLM batch (see the module docstring).

    Parameters
    ----------
    A : numpy.ndarray, shape (n, d)
        Feature rows (float64, C-contiguous).
    y : numpy.ndarray, shape (n,)
        Labels in ``{-1, +1}`` (float64).
    idx : numpy.ndarray, shape (b,)
        Row indices of the batch (int64).
    x : numpy.ndarray, shape (d,)
        The point.
    r : numpy.ndarray, shape (d,)
        The common gradient term.
    m_test : int
        Largest test sub-batch.

    Returns
    -------
    BatchStats
        ``g`` in the dtype of ``x``; ``var`` and ``ip_var`` in float64.
    """
    m = min(int(idx.shape[0]), int(m_test))
    g, var, ip_var = _glm_pass(A, y, np.ascontiguousarray(idx, dtype=np.int64), np.asarray(x, dtype=np.float64),
                               np.asarray(r, dtype=np.float64), m)
    return BatchStats(g.astype(x.dtype, copy=False), var, float(ip_var), m)
