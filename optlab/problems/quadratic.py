"""Quadratics with closed-form minimizers: a prescribed spectrum, and Nesterov's worst case.

Both are ``f(x) = 1/2 (x - x*)^T A (x - x*) + f*``. The gap is computed from that
form directly, so it stays accurate far below ``eps * |f*|`` (linear-rate fits need it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optlab.problems.base import Problem

__all__ = ["Quadratic", "nesterov_worst_case", "quadratic"]


class Quadratic(Problem):
    """``f(x) = 1/2 (x - x*)^T A (x - x*) + f*`` with ``A`` symmetric positive semidefinite.

    Parameters
    ----------
    A : array_like, shape (d, d)
        Symmetric PSD matrix (the Hessian).
    x_star : array_like, shape (d,)
        The minimizer.
    f_star : float
        The optimal value.
    name : str
        Display name.
    x0 : array_like, optional
        Standard starting point (zeros by default).
    """

    def __init__(self, A: Any, x_star: Any, f_star: float = 0.0, *, name: str = "quadratic",
                 x0: Any = None) -> None:
        super().__init__()
        A = np.asarray(A, dtype=np.float64)
        x_star = np.asarray(x_star, dtype=np.float64)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix, got shape {A.shape}")
        if x_star.shape != (A.shape[0],):
            raise ValueError(f"x_star must have shape ({A.shape[0]},), got {x_star.shape}")
        if not np.allclose(A, A.T, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(A).max())):
            raise ValueError("A must be symmetric")
        eig = np.linalg.eigvalsh(A)
        if eig[0] < -1e-10 * max(1.0, eig[-1]):
            raise ValueError(f"A must be positive semidefinite, smallest eigenvalue {eig[0]:.3g}")
        self.name = name
        self.dim = A.shape[0]
        self.x_star = x_star
        self.f_star = float(f_star)
        self.x0 = None if x0 is None else np.asarray(x0, dtype=np.float64)
        self.eigenvalues = eig
        self.constants = {"L": float(eig[-1]), "mu": float(max(eig[0], 0.0)), "L2": 0.0}
        self._set_data(A=A, x_star=x_star)

    def gap(self, x: Any) -> Any:
        d = self.data(x)
        r = x - d["x_star"]
        return 0.5 * (r @ (d["A"] @ r))

    def f(self, x: Any) -> Any:
        return self.gap(x) + self.f_star

    def grad(self, x: Any) -> Any:
        d = self.data(x)
        return d["A"] @ (x - d["x_star"])

    def hess(self, x: Any) -> Any:
        return self.data(x)["A"]

    def hvp(self, x: Any, v: Any) -> Any:
        return self.data(x)["A"] @ v

    def value_and_grad(self, x: Any) -> tuple[Any, Any]:
        d = self.data(x)
        g = d["A"] @ (x - d["x_star"])
        return 0.5 * ((x - d["x_star"]) @ g) + self.f_star, g


def quadratic(dim: int = 50, *, mu: float = 0.01, L: float = 1.0, spectrum: str = "linear",
              seed: int = 0, f_star: float = 0.0, scale: float = 1.0) -> Quadratic:
    """An L-smooth, mu-strongly convex quadratic with a prescribed spectrum in ``[mu, L]``.

    The eigenvalues are ``mu`` and ``L`` plus ``dim - 2`` points spaced linearly
    (``spectrum="linear"``) or geometrically (``"log"``) between them; the eigenbasis is
    a random orthogonal matrix and ``x*`` a random point of norm ``scale``, both drawn
    from ``seed``, so ``x0 = 0`` has a component on every eigenvector.

    Parameters
    ----------
    dim : int
        Dimension (>= 2).
    mu, L : float
        Smallest and largest eigenvalue, ``0 <= mu <= L``, ``L > 0``.
    spectrum : {"linear", "log"}
        Spacing of the eigenvalues.
    seed : int
        Seed of the eigenbasis and of ``x*``.
    f_star : float
        Optimal value.
    scale : float
        ``||x*||``, i.e. ``||x0 - x*||`` from the standard start.
    """
    if dim < 2:
        raise ValueError(f"dim must be >= 2, got {dim}")
    if not (L > 0 and 0 <= mu <= L):
        raise ValueError(f"need 0 <= mu <= L and L > 0, got mu={mu}, L={L}")
    if spectrum == "linear":
        eig = np.linspace(mu, L, dim)
    elif spectrum == "log":
        if mu <= 0:
            raise ValueError("spectrum='log' needs mu > 0")
        eig = np.geomspace(mu, L, dim)
    else:
        raise ValueError(f"spectrum must be 'linear' or 'log', got {spectrum!r}")
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.standard_normal((dim, dim)))
    Q *= np.sign(np.diag(R))
    A = (Q * eig) @ Q.T
    A = 0.5 * (A + A.T)
    x_star = rng.standard_normal(dim)
    x_star *= scale / np.linalg.norm(x_star)
    kappa = L / mu if mu > 0 else np.inf
    prob = Quadratic(A, x_star, f_star, name=f"quadratic(d={dim}, kappa={kappa:.3g}, {spectrum})")
    prob.constants.update(L=float(L), mu=float(mu))  # exact, not the eigensolver's rounding
    return prob


def nesterov_worst_case(dim: int = 101, *, L: float = 1.0, k: int | None = None) -> Quadratic:
    """Nesterov's worst-case smooth convex function (Introductory Lectures, Section 2.1.2).

    ``f(x) = L/4 * (1/2 [x_1^2 + sum_{i<k} (x_i - x_{i+1})^2 + x_k^2] - x_1)`` on ``R^dim``,
    with ``x*_i = 1 - i/(k+1)`` for ``i <= k`` (zero after) and
    ``f* = L/8 * (-1 + 1/(k+1))``; ``k = dim`` by default. From ``x0 = 0`` every
    first-order method has ``x_j`` in the span of the first ``j`` coordinates, so
    ``f(x_j) - f* >= L/8 * (1/(j+1) - 1/(k+1))`` for ``j < k`` (the argument of Nesterov's
    Theorem 2.1.7, before choosing ``k = 2j + 1``); :meth:`lower_bound` returns it.
    """
    k = dim if k is None else int(k)
    if not (1 <= k <= dim):
        raise ValueError(f"need 1 <= k <= dim, got k={k}, dim={dim}")
    if L <= 0:
        raise ValueError(f"L must be positive, got {L}")
    T = 2.0 * np.eye(k) - np.eye(k, k=1) - np.eye(k, k=-1)
    A = np.zeros((dim, dim))
    A[:k, :k] = (L / 4.0) * T
    x_star = np.zeros(dim)
    x_star[:k] = 1.0 - np.arange(1, k + 1) / (k + 1.0)
    f_star = L / 8.0 * (-1.0 + 1.0 / (k + 1.0))
    prob = _NesterovWorstCase(A, x_star, f_star, name=f"nesterov_worst_case(d={dim}, k={k})")
    prob.constants["L"] = float(L)  # the bound uses L, not the slightly smaller lambda_max
    prob.k = k
    return prob


class _NesterovWorstCase(Quadratic):
    k: int

    def lower_bound(self, j: Any) -> np.ndarray:
        """First-order lower bound ``L/8 (1/(j+1) - 1/(k+1))`` on ``f(x_j) - f*`` from ``x0 = 0``."""
        j = np.asarray(j, dtype=np.float64)
        return self.constants["L"] / 8.0 * (1.0 / (j + 1.0) - 1.0 / (self.k + 1.0))
