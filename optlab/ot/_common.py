"""Input checks and array-API building blocks shared by the entropic OT solvers.

Notation (Tang et al. 2024, and ``/work/shared/papers/sinkhorn_newton_sparse.md``):
``eta = 1 / reg``; dual potentials ``x`` (rows) and ``y`` (columns); plan
``P(x, y)_ij = exp(eta (x_i + y_j - C_ij) - 1)``; Lyapunov (dual) objective

    f(x, y) = -(1/eta) sum_ij P_ij + <r, x> + <c, y>,

concave, maximized by the entropic plan, with ``max f`` equal to the primal value
``<C, P> + (1/eta) sum P log P``. Its gradient is ``(r - P 1, c - P^T 1)``, so the
marginal error ``||P 1 - r||_1 + ||P^T 1 - c||_1`` is ``||grad f||_1``.

Everything here takes its namespace from its inputs (NumPy, CuPy, ``array_api_strict``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from optlab.backend import as_float_array, as_positive_float, namespace, to_numpy
from optlab.kernels.expm import logsumexp

__all__ = [
    "OTInputs",
    "dual_value",
    "expand_plan",
    "expand_potentials",
    "plan_from_potentials",
    "prepare",
    "primal_value",
    "round_to_feasible",
]


@dataclass
class OTInputs:
    """Validated inputs, restricted to the support of the marginals.

    ``a``, ``b``, ``C`` are the support-restricted arrays (a common floating dtype);
    ``rows`` and ``cols`` the kept indices into the user's arrays (``None`` when all
    are kept); ``n_full``, ``m_full`` the user's sizes; ``eta = 1 / reg``.
    """

    a: Any
    b: Any
    C: Any
    eta: float
    rows: Any
    cols: Any
    n_full: int
    m_full: int
    xp: Any


def prepare(a: Any, b: Any, C: Any, reg: Any) -> OTInputs:
    """Check ``(a, b, C, reg)`` and drop the zero-mass points.

    ``a`` or ``b`` may be ``None`` (uniform weights). Raises ``ValueError`` naming the
    argument for a wrong shape, a non-finite entry, a negative weight, an all-zero
    marginal, marginals of different total mass (``|sum a - sum b| > 1e-12 sum a``:
    the dual is then unbounded along ``(1, -1)``), or ``reg <= 0``; ``TypeError`` for
    non-numeric input or arrays from different libraries.
    """
    C = as_float_array(C, "C", ndim=2)
    xp = namespace(C)
    n, m = C.shape
    if n == 0 or m == 0:
        raise ValueError(f"C must have at least one row and one column, got shape {tuple(C.shape)}")
    reg = as_positive_float(reg, "reg")
    if a is None:
        a = xp.full(n, 1.0 / n, dtype=C.dtype, device=C.device)
    if b is None:
        b = xp.full(m, 1.0 / m, dtype=C.dtype, device=C.device)
    a = as_float_array(a, "a", ndim=1, size=n)
    b = as_float_array(b, "b", ndim=1, size=m)
    if namespace(a) is not xp or namespace(b) is not xp:
        raise TypeError("a, b and C must come from the same array library")
    dtype = C.dtype
    if a.dtype != dtype or b.dtype != dtype:  # float64 wins over float32
        dtype = xp.result_type(a.dtype, b.dtype, C.dtype)
        a, b, C = xp.astype(a, dtype), xp.astype(b, dtype), xp.astype(C, dtype)
    for name, w in (("a", a), ("b", b)):
        if bool(xp.any(w < 0)):
            raise ValueError(f"{name} has negative entries; marginals must be non-negative")
        if not bool(xp.any(w > 0)):
            raise ValueError(f"{name} is all zero; a marginal must have positive mass")
    sa, sb = float(xp.sum(xp.astype(a, xp.float64))), float(xp.sum(xp.astype(b, xp.float64)))
    tol = 1e-12 if dtype == xp.float64 else 1e-6
    if abs(sa - sb) > tol * sa:
        raise ValueError(f"a and b must have the same total mass (sum a = {sa!r}, sum b = {sb!r}); "
                         "otherwise the dual objective is unbounded")
    rows = cols = None
    if not bool(xp.all(a > 0)):  # drop zero-mass points: log 0 = -inf; they are re-inserted as zero rows
        rows = xp.nonzero(a > 0)[0]
        a, C = xp.take(a, rows), xp.take(C, rows, axis=0)
    if not bool(xp.all(b > 0)):
        cols = xp.nonzero(b > 0)[0]
        b, C = xp.take(b, cols), xp.take(C, cols, axis=1)
    return OTInputs(a, b, C, 1.0 / reg, rows, cols, n, m, xp)


def plan_from_potentials(C: Any, x: Any, y: Any, eta: float) -> Any:
    """``P_ij = exp(eta (x_i + y_j - C_ij) - 1)`` in the namespace of ``C``."""
    xp = namespace(C)
    return xp.exp(eta * (x[:, None] + y[None, :] - C) - 1.0)


def dual_value(C: Any, a: Any, b: Any, x: Any, y: Any, eta: float) -> float:
    """``f(x, y) = -(1/eta) sum P + <a, x> + <b, y>`` as a float (generic path)."""
    xp = namespace(C)
    P = plan_from_potentials(C, x, y, eta)
    return float(-xp.sum(P) / eta + xp.sum(a * x) + xp.sum(b * y))


def row_lse(C: Any, y: Any, eta: float) -> Any:
    """``LSE_j(eta (y_j - C_ij))`` for every row (generic path)."""
    return logsumexp(eta * (y[None, :] - C), axis=1)


def col_lse(C: Any, x: Any, eta: float) -> Any:
    """``LSE_i(eta (x_i - C_ij))`` for every column (generic path)."""
    return logsumexp(eta * (x[:, None] - C), axis=0)


def expand_plan(P: Any, inp: OTInputs) -> Any:
    """Re-insert the dropped zero-mass rows and columns as zeros (array-API ``take`` only)."""
    xp = inp.xp
    if inp.rows is not None:
        P = _scatter(P, inp.rows, inp.n_full, 0, xp)
    if inp.cols is not None:
        P = _scatter(P, inp.cols, inp.m_full, 1, xp)
    return P


def _scatter(P: Any, kept: Any, size: int, axis: int, xp: Any) -> Any:
    zero = xp.zeros((1, P.shape[1]) if axis == 0 else (P.shape[0], 1), dtype=P.dtype, device=P.device)
    ext = xp.concat([P, zero], axis=axis)
    k = int(kept.shape[0])
    where = np.full(size, k, dtype=np.int64)  # index map: full position -> kept position, or the zero slice
    where[to_numpy(kept)] = np.arange(k)
    return xp.take(ext, xp.asarray(where, device=P.device), axis=axis)


def expand_potentials(v: Any, kept: Any, size: int) -> Any:
    """Potentials on the full index set: ``-inf`` at the dropped (zero-mass) points."""
    if kept is None:
        return v
    xp = namespace(v)
    ext = xp.concat([v, xp.full(1, -math.inf, dtype=v.dtype, device=v.device)])
    where = np.full(size, int(kept.shape[0]), dtype=np.int64)
    where[to_numpy(kept)] = np.arange(int(kept.shape[0]))
    return xp.take(ext, xp.asarray(where, device=v.device))


def round_to_feasible(P: Any, a: Any, b: Any) -> Any:
    """Round a nonnegative plan onto the transport polytope ``U(a, b)``.

    Altschuler, Weed, Rigollet (2017), Algorithm 2: scale down the rows that carry too
    much mass, then the columns, then add the rank-one correction
    ``err_r err_c^T / ||err_r||_1``. The result is exactly feasible up to rounding.
    """
    xp = namespace(P)
    rs = xp.sum(P, axis=1)
    fr = xp.where(rs > a, a / xp.where(rs > 0, rs, xp.ones_like(rs)), xp.ones_like(rs))
    P = P * fr[:, None]
    cs = xp.sum(P, axis=0)
    fc = xp.where(cs > b, b / xp.where(cs > 0, cs, xp.ones_like(cs)), xp.ones_like(cs))
    P = P * fc[None, :]
    er = a - xp.sum(P, axis=1)
    ec = b - xp.sum(P, axis=0)
    s = xp.sum(er)
    if float(s) > 0:
        P = P + er[:, None] * ec[None, :] / s
    return P


def primal_value(C: Any, P: Any, eta: float) -> float:
    """Entropic primal ``<C, P> + (1/eta) sum P log P`` (``0 log 0 = 0``), a float."""
    xp = namespace(P)
    logp = xp.log(xp.where(P > 0, P, xp.ones_like(P)))
    return float(xp.sum(C * P) + xp.sum(P * logp) / eta)
