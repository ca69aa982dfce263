"""Linear algebra of the Newton family: the metric ``B``, its norms, and regularized solves.

``Metric`` factors ``B`` once and gives ``||h|| = sqrt(<B h, h>)``, ``||s||_* =
sqrt(<s, B^{-1} s>)`` and ``B^{-1} s``. :func:`regularized_solve` solves
``(H + lam B) d = -g`` for the three shapes a Hessian approximation can take:
a dense PSD matrix (Cholesky; ``None`` when the factorization fails, so the caller
rejects the trial instead of crashing), a rank-one ``c v v^T`` (Sherman-Morrison, O(d^2),
no factorization), or zero (``d = -B^{-1} g / lam``, O(d^2)).

NumPy inputs use LAPACK through ``scipy.linalg.cho_factor``; other namespaces use the
array API's ``linalg`` extension.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg  # imported with the module, so no first-call import lands in a timed trace

from optlab.backend import namespace


@dataclass(frozen=True)
class RankOne:
    """A Hessian approximation ``c v v^T`` (``c >= 0``)."""

    c: float
    v: Any


ZERO = "zero"  # the H = 0 approximation (normalized gradient step)


class Metric:
    """The metric ``B`` (identity when ``B`` is None), factored once.

    Raises ``ValueError`` when ``B`` has the wrong shape, is not symmetric or not
    positive definite.
    """

    def __init__(self, B: Any, like: Any) -> None:
        xp = namespace(like)
        self.xp = xp
        self.identity = B is None
        self._work = None  # NumPy scratch for H + lam B, reused by every solve of the run
        if B is None:
            self.B = self.Binv = None
            return
        B = xp.asarray(B, dtype=like.dtype, device=like.device)
        d = like.shape[0]
        if B.shape != (d, d):
            raise ValueError(f"metric B must have shape ({d}, {d}), got {tuple(B.shape)}")
        asym = float(xp.max(xp.abs(B - B.T)))
        if not math.isfinite(asym) or asym > 1e-10 * max(1.0, float(xp.max(xp.abs(B)))):
            raise ValueError("metric B must be symmetric and finite")
        try:
            L = xp.linalg.cholesky(B)
        except Exception:
            L = None
        if L is None or not bool(xp.all(xp.isfinite(L))):
            raise ValueError("metric B must be positive definite")
        self.B = B
        self.Binv = xp.linalg.inv(B)

    def norm(self, h: Any) -> float:
        """``sqrt(<B h, h>)``."""
        if self.identity:
            return float(self.xp.linalg.vector_norm(h))
        return math.sqrt(max(float(h @ (self.B @ h)), 0.0))

    def dual_norm(self, s: Any) -> float:
        """``sqrt(<s, B^{-1} s>)``."""
        if self.identity:
            return float(self.xp.linalg.vector_norm(s))
        return math.sqrt(max(float(s @ (self.Binv @ s)), 0.0))

    def inv_apply(self, s: Any) -> Any:
        """``B^{-1} s``."""
        return s if self.identity else self.Binv @ s

    def _scratch(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """A NumPy work array of ``shape`` and ``dtype``, allocated once and reused (contents undefined)."""
        w = self._work
        if w is None or w.shape != shape or w.dtype != dtype:
            w = self._work = np.empty(shape, dtype=dtype)
        return w

    def matrix(self, like: Any) -> Any:
        """``B`` as a dense matrix."""
        if self.identity:
            return self.xp.eye(like.shape[0], dtype=like.dtype, device=like.device)
        return self.B


def regularized_solve(H: Any, lam: float, g: Any, metric: Metric) -> Any | None:
    """``d`` with ``(H + lam B) d = -g``; ``None`` if the dense factorization fails or is not finite."""
    xp = metric.xp
    if isinstance(H, str) and H == ZERO:
        return -metric.inv_apply(g) / lam
    if isinstance(H, RankOne):
        Bg, Bv = metric.inv_apply(g), metric.inv_apply(H.v)
        denom = lam + H.c * float(H.v @ Bv)
        d = -(Bg / lam - (H.c / lam) * Bv * (float(H.v @ Bg) / denom))
        return d if bool(xp.all(xp.isfinite(d))) else None
    if type(H) is np.ndarray and type(g) is np.ndarray and H.shape == (g.shape[0], g.shape[0]):
        # No identity matrix and no fresh d x d temporaries (their page faults cost up to a third of a
        # Cholesky at d = 500): M lives in the metric's scratch and is factored in place. M is C-ordered,
        # so LAPACK gets its transpose (Fortran-ordered, no copy); its lower factorization (the upper
        # triangle of the symmetric M) runs up to 1.25x faster in OpenBLAS than the upper one.
        M = metric._scratch(H.shape, np.result_type(H, g) if metric.identity else np.result_type(H, metric.B))
        if metric.identity:
            np.copyto(M, H)
            M.flat[:: M.shape[0] + 1] += lam
        else:
            np.multiply(metric.B, lam, out=M)
            M += H
        try:
            factor = scipy.linalg.cho_factor(M.T, lower=True, overwrite_a=True, check_finite=False)
            d = -scipy.linalg.cho_solve(factor, g, check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            return None
        return d if np.all(np.isfinite(d)) else None
    M = H + lam * metric.matrix(g)
    try:
        L = xp.linalg.cholesky(M)
    except Exception:
        return None
    if not bool(xp.all(xp.isfinite(L))):
        return None
    y = xp.linalg.solve(L, -g)
    d = xp.linalg.solve(L.T, y)
    return d if bool(xp.all(xp.isfinite(d))) else None
