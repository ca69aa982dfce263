"""Batch statistics and the batch-size tests of adaptive batching (generic array-API code).

A batch of per-sample gradients ``s_i`` (rows of ``S``) gives the batch mean ``g`` (used
for the step) and, on a *test sub-batch* of its first ``m <= m_test`` rows, the
statistics every test needs:

* ``var[j] = V_j = (1/(m-1)) sum_i (s_ij - mean_T s_j)^2``: per-coordinate Bessel-corrected
  variances (``sum_j V_j`` estimates ``tr Sigma``);
* ``ip_var = Var_i <s_i, g>`` (Bessel-corrected over the sub-batch) = ``g^T C g`` with ``C``
  the sub-batch covariance; the orthogonality statistic follows from it without a second
  pass: ``sum_j Var_i(w_ij) = tr C - g^T C g / ||g||^2`` for
  ``w_i = s_i - (<s_i, g>/||g||^2) g`` (``w = P s``, ``P`` an orthogonal projection).

The denominators use the full-batch mean ``g`` (specification Section 9.3).
:func:`batch_size_estimate` turns the statistics into the test's ``b_hat``
(specification Section 2). The Numba kernel of :mod:`optlab.batching._kernels`
computes the same numbers for a generalized linear model in one pass over the batch.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from optlab.backend import namespace

__all__ = ["GSQ_TINY", "TESTS", "BatchStats", "batch_size_estimate", "batch_statistics"]

#: Names of the adaptive batch-size tests.
TESTS = ("norm", "ip", "ip+orth", "coord_norm")

#: Below this ``||g||^2`` a test is noise-dominated: ``b_hat = inf`` (the caller jumps to ``b_max``).
GSQ_TINY = 1e-30


class BatchStats(NamedTuple):
    """What one batch gives: the mean for the step, the statistics for the test.

    Attributes
    ----------
    g : array, shape (d,)
        Batch mean (in the namespace of the samples).
    var : array, shape (d,)
        Bessel-corrected per-coordinate variances on the test sub-batch (NaN if it has one row).
    ip_var : float
        ``Var_i <s_i, g>`` on the test sub-batch (NaN where not computed, e.g. fast mode).
    m : int
        Size of the test sub-batch.
    """

    g: Any
    var: Any
    ip_var: float
    m: int


def batch_statistics(S: Any, m_test: int, *, g: Any = None) -> BatchStats:
    """Mean of the rows of ``S`` and the test statistics on its first ``min(len(S), m_test)`` rows.

    Parameters
    ----------
    S : array, shape (b, d)
        Per-sample gradients.
    m_test : int
        Largest test sub-batch.
    g : array, shape (d,), optional
        The batch mean when ``S`` is only the test sub-batch (fast mode with an explicit
        test batch); by default the mean of ``S``.

    Returns
    -------
    BatchStats
    """
    xp = namespace(S)
    if g is None:
        g = xp.mean(S, axis=0)
    m = min(S.shape[0], int(m_test))
    if m < 2:
        nan = xp.full(S.shape[1], math.nan, dtype=S.dtype, device=S.device)
        return BatchStats(g, nan, math.nan, m)
    T = S[:m, :]
    var = xp.var(T, axis=0, correction=1)
    ip_var = float(xp.var(T @ g, correction=1))
    return BatchStats(g, var, ip_var, m)


def batch_size_estimate(test: str, stats: BatchStats, *, eta: Any = 0.1, theta: float = 0.1, nu: float = 0.1,
                        tau: float = 0.1) -> float:
    """The batch size ``b_hat`` a test asks for (specification Section 2); ``inf`` when ``||g||^2 < 1e-30``.

    ``norm``: ``sum_j V_j / (eta^2 ||g||^2)``; ``ip``: ``Var<s, g> / (theta^2 ||g||^4)``;
    ``ip+orth``: the larger of ``ip`` and ``(sum_j V_j - Var<s, g>/||g||^2) / (nu^2 ||g||^2)``;
    ``coord_norm``: ``max_j V_j / (eta_j^2 max(g_j^2, tau ||g||^2 / d))`` (``eta`` may be a
    per-coordinate array).

    [our choice] The coordinate-wise test floors ``g_j^2`` at ``tau ||g||^2 / d`` (``tau = 0.1``)
    instead of ignoring the coordinates below ``1e-6 ||g||^2 / d``: with the latter, one
    coordinate crossing zero sent the batch to ``b_max`` within about 12 steps at
    ``||grad F||^2 ~ 6e-3`` on P-A2 (measured, 8 seeds). The floor bounds ``b_hat`` by
    ``d / tau`` times the norm test's, and the floored condition summed over ``j`` implies
    the global norm test with ``eta^2 (1 + tau)``.
    """
    xp = namespace(stats.g)
    g = stats.g
    gsq = float(xp.sum(g * g))
    if not gsq >= GSQ_TINY:  # also catches NaN
        return math.inf
    if test == "norm":
        return float(xp.sum(stats.var)) / (float(eta) ** 2 * gsq)
    if test in ("ip", "ip+orth"):
        b_ip = stats.ip_var / (theta**2 * gsq * gsq)
        if test == "ip":
            return b_ip
        orth = max(float(xp.sum(stats.var)) - stats.ip_var / gsq, 0.0)  # >= 0 up to rounding
        return max(b_ip, orth / (nu**2 * gsq))
    if test == "coord_norm":
        d = g.shape[0]
        floor = xp.maximum(g * g, xp.full(g.shape, tau * gsq / d, dtype=g.dtype, device=g.device))
        eta2 = xp.asarray(eta, dtype=g.dtype, device=g.device) ** 2
        return float(xp.max(stats.var / (eta2 * floor)))
    raise ValueError(f"test must be one of {TESTS}, got {test!r}")
