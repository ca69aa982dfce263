"""One pass over the data: margins, weights, the weighted sum of the rows, and the statistics.

Every batch method of :mod:`optlab.classification` is ``phi <- phi + c * sum_i w_i z_i``
with weights ``w`` that depend only on the margins ``m = Z phi``; :func:`data_pass`
computes, in one pass, what an iteration and its trace need. The generic version
below uses array-API calls only (NumPy, CuPy, ``array_api_strict``); the Numba kernel
in :mod:`optlab.classification._kernels` computes the same numbers reading ``Z`` once.

Modes (``gamma`` scales the margins: the weights are evaluated at ``theta = gamma phi``):

======================  ====================================================  ==================
mode                    weights ``w_i``                                       method
======================  ====================================================  ==================
``LOGISTIC``            ``sigma(-gamma m_i)`` (caller divides by ``n``)        LR+GD
``NORMALIZED``          ``softmax_i(log sigma(-gamma m_i))``                   Normalized LR+GD
``BATCH``               ``1[m_i <= 0]`` (caller divides by ``n``)              Batch Perceptron
``NORMALIZED_BATCH``    ``1[m_i <= 0] / |S|``                                  Normalized BP
``SINGLE``              one-hot at the first ``i`` with ``m_i <= 0``           Perceptron
======================  ====================================================  ==================

Returned alongside the sum ``g``: ``loss = mean log(1 + exp(-s m_i))`` and
``grad_norm = ||(1/n) sum_i sigma(-s m_i) z_i||`` at ``theta = s phi`` with
``s = gamma`` for the logistic modes and ``s = 1`` for the perceptrons (the logistic loss
of the perceptron's own iterate), ``n_nonpos = #{m_i <= 0}`` and ``min_margin = min m_i``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from optlab.backend import namespace

LOGISTIC, NORMALIZED, BATCH, NORMALIZED_BATCH, SINGLE = range(5)


class PassResult(NamedTuple):
    """What one pass returns (``g`` in the namespace of the data, the rest Python floats)."""

    g: Any
    loss: float
    grad_norm: float
    n_nonpos: int
    min_margin: float


def data_pass(Z: Any, phi: Any, gamma: float, mode: int) -> PassResult:
    """Generic (array-API) pass; see the module docstring for the meaning of each mode."""
    xp = namespace(Z, phi)
    n = Z.shape[0]
    m = Z @ phi
    nonpos = m <= 0
    n_nonpos = int(xp.sum(xp.astype(nonpos, xp.int64)))
    min_margin = float(xp.min(m))
    if mode in (LOGISTIC, NORMALIZED):
        gm = gamma * m
        log_w = -xp.logaddexp(xp.zeros_like(gm), gm)  # log sigma(-gamma m), never overflows
        loss = float(xp.mean(xp.logaddexp(xp.zeros_like(gm), -gm)))
        if mode == LOGISTIC:
            w = xp.exp(log_w)
            g = w @ Z
            return PassResult(g, loss, float(xp.linalg.vector_norm(g)) / n, n_nonpos, min_margin)
        top = xp.max(log_w)
        e = xp.exp(log_w - top)
        s = xp.sum(e)
        g = (e @ Z) / s
        # grad f(theta) = -(1/n) sum sigma_i z_i = -(sum_j sigma_j / n) g, sum_j sigma_j = exp(top) s
        gnorm = math.exp(float(top) + math.log(float(s))) / n * float(xp.linalg.vector_norm(g))
        return PassResult(g, loss, gnorm, n_nonpos, min_margin)
    # perceptrons: the trace's loss and gradient are the logistic ones at theta = phi
    loss = float(xp.mean(xp.logaddexp(xp.zeros_like(m), -m)))
    gnorm = float(xp.linalg.vector_norm(xp.exp(-xp.logaddexp(xp.zeros_like(m), m)) @ Z)) / n
    if mode == SINGLE:
        if n_nonpos == 0:
            return PassResult(xp.zeros_like(phi), loss, gnorm, 0, min_margin)
        j = int(xp.argmax(xp.astype(nonpos, xp.int8)))  # first index with m_j <= 0
        return PassResult(Z[j, :], loss, gnorm, n_nonpos, min_margin)
    w = xp.astype(nonpos, Z.dtype)
    g = w @ Z
    if mode == NORMALIZED_BATCH and n_nonpos > 0:
        g = g / n_nonpos
    return PassResult(g, loss, gnorm, n_nonpos, min_margin)
