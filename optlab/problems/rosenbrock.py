"""The chained Rosenbrock function, the standard non-convex smooth test problem."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from optlab.backend import namespace
from optlab.problems.base import Problem

__all__ = ["Rosenbrock"]


class Rosenbrock(Problem):
    """``f(x) = sum_{i=1}^{d-1} b (x_{i+1} - x_i^2)^2 + (a - x_i)^2`` (chained Rosenbrock).

    Parameters
    ----------
    dim : int
        Dimension ``d >= 2``.
    a, b : float
        Parameters, ``b > 0`` (classically ``a = 1``, ``b = 100``).

    Notes
    -----
    ``f >= 0``, and ``f(x) = 0`` iff every term vanishes: ``x_i = a`` for ``i < d`` and
    ``x_{i+1} = x_i^2``. For ``d = 2`` that is ``x_star = (a, a^2)``; for ``d >= 3`` it
    needs ``a = a^2``, i.e. ``a`` in ``{0, 1}``, and then ``x_star = (a, ..., a)``. In
    those cases ``x_star`` and ``f_star = 0`` are exact and ``x_star`` is the unique
    global minimizer; otherwise (``d >= 3``, ``a`` not in ``{0, 1}``) the minimum is
    positive with no closed form and ``x_star = f_star = None``.

    The function is not convex, and neither ``grad`` nor ``hess`` is globally
    Lipschitz, so there is no global ``L``: ``constants`` holds ``L_star`` and
    ``mu_star``, the extreme Hessian eigenvalues at ``x_star`` (when known). For
    ``d >= 4`` (checked for ``4 <= d <= 8``) there is also a non-global local minimizer
    with ``x_1`` near ``-1`` and value near 4, which a local method can converge to.
    The standard start is ``x0 = (-1.2, 1, -1.2, 1, ...)``.

    The Hessian is tridiagonal: diagonal ``12 b x_i^2 - 4 b x_{i+1} + 2`` (``i < d``)
    plus ``2 b`` (``i > 1``), off-diagonal ``-4 b x_i``; :meth:`hess` returns it dense and
    :meth:`hvp` applies it in ``O(d)``.
    """

    def __init__(self, dim: int = 2, *, a: float = 1.0, b: float = 100.0) -> None:
        super().__init__()
        if isinstance(dim, bool) or int(dim) != dim or dim < 2:
            raise ValueError(f"dim must be an integer >= 2, got {dim}")
        dim = int(dim)
        a, b = float(a), float(b)
        if not math.isfinite(a):
            raise ValueError(f"a must be finite, got {a}")
        if not (math.isfinite(b) and b > 0.0):
            raise ValueError(f"b must be finite and > 0, got {b}")
        self.name = f"rosenbrock(d={dim}, a={a:g}, b={b:g})"
        self.dim = dim
        self.a, self.b = a, b
        x0 = np.ones(dim)
        x0[::2] = -1.2
        self.x0 = x0
        self.constants = {}
        if dim == 2:
            self.x_star = np.array([a, a * a])
        elif a in (0.0, 1.0):
            self.x_star = np.full(dim, a)
        if self.x_star is not None:
            self.f_star = 0.0
            eig = np.linalg.eigvalsh(self.hess(self.x_star))
            self.constants.update(L_star=float(eig[-1]), mu_star=float(eig[0]))

    def f(self, x: Any) -> Any:
        xp = namespace(x)
        u = x[1:] - x[:-1] ** 2
        v = self.a - x[:-1]
        return self.b * xp.sum(u * u) + xp.sum(v * v)

    def grad(self, x: Any) -> Any:
        xp = namespace(x)
        head = x[:-1]
        u = x[1:] - head**2
        zero = xp.zeros((1,), dtype=x.dtype, device=x.device)
        left = -4.0 * self.b * head * u - 2.0 * (self.a - head)  # d/dx_i for i < d
        right = 2.0 * self.b * u  # d/dx_{i+1}
        return xp.concat([left, zero]) + xp.concat([zero, right])

    def _bands(self, x: Any) -> tuple[Any, Any]:
        """Diagonal (length d) and superdiagonal padded with a trailing 0 (length d)."""
        xp = namespace(x)
        zero = xp.zeros((1,), dtype=x.dtype, device=x.device)
        head = x[:-1]
        diag = (xp.concat([12.0 * self.b * head**2 - 4.0 * self.b * x[1:] + 2.0, zero])
                + xp.concat([zero, xp.full((self.dim - 1,), 2.0 * self.b, dtype=x.dtype, device=x.device)]))
        off = xp.concat([-4.0 * self.b * head, zero])
        return diag, off

    def hess(self, x: Any) -> Any:
        xp = namespace(x)
        diag, off = self._bands(x)
        kw = {"dtype": x.dtype, "device": x.device}
        return (xp.eye(self.dim, **kw) * diag[None, :]
                + xp.eye(self.dim, k=1, **kw) * off[:, None]
                + xp.eye(self.dim, k=-1, **kw) * off[None, :])

    def hvp(self, x: Any, v: Any) -> Any:
        xp = namespace(x)
        diag, off = self._bands(x)
        zero = xp.zeros((1,), dtype=x.dtype, device=x.device)
        upper = xp.concat([off[:-1] * v[1:], zero])  # sum_j H_{i,i+1} v_{i+1}
        lower = xp.concat([zero, off[:-1] * v[:-1]])  # H_{i,i-1} v_{i-1}
        return diag * v + upper + lower
