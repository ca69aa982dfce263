"""Binary logistic regression, with separable and non-separable generators.

``f(theta) = 1/n sum_i log(1 + exp(-y_i x_i^T theta)) + reg/2 ||theta||^2`` with labels
``y_i`` in ``{-1, +1}``. The loss is evaluated as ``logaddexp(0, -m)`` of the margins
``m_i = y_i x_i^T theta`` and the sigmoid as ``exp(-logaddexp(0, m))``, so neither
overflows for any margin.

What is known about the optimum depends on the data:

* ``reg > 0``: ``f`` is ``reg``-strongly convex; ``x_star`` and ``f_star`` are solved
  once at construction by Newton's method and are *numerical*: ``||grad f(x_star)|| <=
  1e-12`` and ``f_star = f(x_star)``.
* ``reg = 0`` and separable data: the infimum ``f_star = 0`` is exact but not attained
  (``x_star = None``); the max margin is certified by a hard-margin SVM
  (``constants["margin"]``).
* ``reg = 0`` and non-separable data: a minimizer exists when no nonzero ``theta`` has
  all margins ``>= 0``; the Newton solve then gives a numerical ``x_star`` as above, and
  ``x_star = f_star = None`` (with a warning) if it does not reach the tolerance.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from optlab.backend import as_float_array, namespace, to_numpy
from optlab.problems._newton import _newton_minimize
from optlab.problems._svm import _max_margin_direction
from optlab.problems.base import Problem

__all__ = ["Logistic", "logistic_nonseparable", "logistic_separable"]

#: Largest ``n * (d + 1)`` for which the hard-margin SVM is solved at construction.
SVM_MAX_SIZE = 10_000_000

#: ``max_t |d^3/dt^3 log(1 + exp(-t))| = max_s s(1-s)|1-2s| = 1/(6 sqrt 3)``.
_LOGISTIC_THIRD = 1.0 / (6.0 * math.sqrt(3.0))


class Logistic(Problem):
    """``f(theta) = 1/n sum_i log(1 + exp(-y_i x_i^T theta)) + reg/2 ||theta||^2``.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Feature rows ``x_i``; finite, and no row may be zero (its margin would be
        identically zero).
    y : array_like, shape (n,)
        Labels, each exactly ``-1`` or ``+1``.
    reg : float
        Ridge parameter ``>= 0``.
    name : str, optional
        Display name (a default with ``n``, ``d``, ``reg`` is built otherwise).
    x0 : array_like, optional
        Standard starting point (zeros by default).
    separator : array_like, shape (d,), optional
        A direction known to separate the data (e.g. a generator's planted one). Used to
        certify separability only when the data are too large for the SVM
        (``n * (d + 1) > SVM_MAX_SIZE``).
    solve : bool
        Whether to compute ``x_star`` and ``f_star`` by Newton's method when a minimizer
        exists (``reg > 0``, or non-separable data). ``False`` leaves them ``None``
        (except the exact ``f_star = 0`` of separable unregularized data).

    Attributes
    ----------
    separable : bool or None
        Whether the data are linearly separable through the origin (``None``: not
        decided, because the data were too large for the SVM and no separator was given).
    margin_direction : numpy.ndarray or None
        Unit vector attaining ``constants["margin"]`` on separable data.
    margin_upper : float or None
        An upper bound on the max margin from the SVM dual (``||Z^T p||`` for a
        probability vector ``p``, where ``Z`` has rows ``y_i x_i``); ``None`` when the
        margin comes from ``separator``.

    Notes
    -----
    Constants:

    * ``L = ||X||_2^2 / (4 n) + reg``, since ``sigma (1 - sigma) <= 1/4``;
    * ``mu = reg``;
    * ``L2 = R^2 ||X||_2 / (6 sqrt(3) sqrt(n))``, a Hessian-Lipschitz constant: the third
      derivative of the loss is at most ``1/(6 sqrt 3)`` in absolute value, so
      ``|D^3 f[u,u,u]| <= c/n sum_i |z_i^T u|^3 <= c R^2 ||Z u||_1 / n
      <= c R^2 ||X||_2 / sqrt(n)`` for a unit ``u``;
    * ``R = max_i ||x_i||``;
    * ``margin`` (separable data only) ``= min_i y_i x_i^T w`` for the unit
      ``w = margin_direction``, so it is attained, hence a certified lower bound on the
      max margin. When it comes from the hard-margin SVM (the default) it equals the
      max margin to solver accuracy, bracketed by ``margin_upper``; when the data are too
      large for the SVM it is the margin of ``separator`` (at least the generator's
      planted margin).
    """

    def __init__(self, X: Any, y: Any, *, reg: float = 0.0, name: str | None = None, x0: Any = None,
                 separator: Any = None, solve: bool = True) -> None:
        super().__init__()
        X = np.asarray(as_float_array(to_numpy(X), "X", ndim=2), dtype=np.float64)
        n, d = X.shape
        if n == 0 or d == 0:
            raise ValueError(f"X must have at least one row and one column, got shape {X.shape}")
        y = np.asarray(as_float_array(to_numpy(y), "y", ndim=1, size=n), dtype=np.float64)
        if not np.all(np.abs(y) == 1.0):
            bad = np.unique(y[np.abs(y) != 1.0])[:5]
            raise ValueError(f"y must contain only the labels -1 and +1, got {bad.tolist()}")
        row_norms = np.linalg.norm(X, axis=1)
        if np.any(row_norms == 0.0):
            i = int(np.flatnonzero(row_norms == 0.0)[0])
            raise ValueError(f"X has a zero row (row {i}); its margin is identically zero")
        reg = float(reg)
        if not (math.isfinite(reg) and reg >= 0.0):
            raise ValueError(f"reg must be finite and >= 0, got {reg}")

        self.name = name if name is not None else f"logistic(n={n}, d={d}, reg={reg:g})"
        self.dim = d
        self.n = n
        self.reg = reg
        self.x0 = None if x0 is None else np.asarray(x0, dtype=np.float64)
        Z = y[:, None] * X
        self._set_data(Xy=Z)

        norm_X = float(np.linalg.norm(X, 2))
        R = float(row_norms.max())
        self.constants = {
            "L": norm_X**2 / (4.0 * n) + reg,
            "mu": reg,
            "L2": _LOGISTIC_THIRD * R**2 * norm_X / math.sqrt(n),
            "R": R,
        }

        # -- separability ------------------------------------------------------------
        self.separable: bool | None = None
        self.margin_direction: np.ndarray | None = None
        self.margin_upper: float | None = None
        if n * (d + 1) <= SVM_MAX_SIZE:
            w, upper = _max_margin_direction(Z)
            self.separable = w is not None
            if w is not None:
                self.margin_direction = w
                self.margin_upper = upper
                self.constants["margin"] = float(np.min(Z @ w))
        elif separator is not None:
            w = np.asarray(separator, dtype=np.float64).reshape(d)
            w = w / np.linalg.norm(w)
            gamma = float(np.min(Z @ w))
            if gamma > 0.0:
                self.separable = True
                self.margin_direction = w
                self.constants["margin"] = gamma

        # -- the optimum -----------------------------------------------------------------
        if reg == 0.0 and self.separable:
            self.f_star = 0.0  # infimum, approached along margin_direction, not attained
            self.x_star = None
        elif solve and (reg > 0.0 or self.separable is False):
            self._solve()

    def _solve(self) -> None:
        """Newton's method to ``||grad|| <= 1e-12``; sets ``x_star`` and ``f_star``."""
        x, gnorm = _newton_minimize(lambda t: float(self.f(t)), self.grad, self.hess, np.zeros(self.dim))
        if gnorm <= 1e-12:
            self.x_star = x
            self.f_star = float(self.f(x))
        else:
            warnings.warn(f"{self.name}: Newton reached only ||grad|| = {gnorm:.3g} > 1e-12; "
                          "x_star and f_star are left unknown", RuntimeWarning, stacklevel=3)

    # -- the oracle ------------------------------------------------------------------------
    def margins(self, theta: Any) -> Any:
        """The margins ``y_i x_i^T theta``, shape ``(n,)``, in the namespace of ``theta``."""
        return self.data(theta)["Xy"] @ theta

    def f(self, x: Any) -> Any:
        xp = namespace(x)
        m = self.data(x)["Xy"] @ x
        val = xp.mean(xp.logaddexp(xp.zeros_like(m), -m))
        if self.reg:
            val = val + (0.5 * self.reg) * (x @ x)
        return val

    def grad(self, x: Any) -> Any:
        xp = namespace(x)
        Z = self.data(x)["Xy"]
        m = Z @ x
        s = xp.exp(-xp.logaddexp(xp.zeros_like(m), m))  # sigmoid(-m)
        g = -(s @ Z) / self.n
        if self.reg:
            g = g + self.reg * x
        return g

    def value_and_grad(self, x: Any) -> tuple[Any, Any]:
        xp = namespace(x)
        Z = self.data(x)["Xy"]
        m = Z @ x
        zero = xp.zeros_like(m)
        val = xp.mean(xp.logaddexp(zero, -m))
        g = -(xp.exp(-xp.logaddexp(zero, m)) @ Z) / self.n
        if self.reg:
            val = val + (0.5 * self.reg) * (x @ x)
            g = g + self.reg * x
        return val, g

    def _weights(self, x: Any) -> tuple[Any, Any]:
        """``Z`` and ``sigma(m) sigma(-m)`` without forming ``1 - sigma`` (no cancellation)."""
        xp = namespace(x)
        Z = self.data(x)["Xy"]
        m = Z @ x
        zero = xp.zeros_like(m)
        return Z, xp.exp(-(xp.logaddexp(zero, m) + xp.logaddexp(zero, -m)))

    def hess(self, x: Any) -> Any:
        xp = namespace(x)
        Z, w = self._weights(x)
        H = ((Z.T * w) @ Z) / self.n
        if self.reg:
            H = H + self.reg * xp.eye(self.dim, dtype=x.dtype, device=x.device)
        return H

    def hvp(self, x: Any, v: Any) -> Any:
        Z, w = self._weights(x)
        out = ((w * (Z @ v)) @ Z) / self.n
        if self.reg:
            out = out + self.reg * v
        return out


def logistic_separable(n: int = 200, d: int = 10, *, margin: float = 0.1, seed: int = 0,
                       reg: float = 0.0) -> Logistic:
    """Linearly separable data with a planted unit direction and margin.

    A unit ``w`` is drawn from ``seed``; each point has ``w^T x_i = y_i t_i`` with a
    random label ``y_i`` and ``t_i`` uniform in ``[margin, 1]`` (``t_0 = margin``
    exactly), plus a uniformly random component orthogonal to ``w`` of norm at most
    ``sqrt(1 - t_i^2)``, so ``||x_i|| <= 1`` and ``y_i x_i^T w >= margin``. The
    problem's ``constants["margin"]`` (the SVM's max margin) is therefore
    ``>= margin``; ``planted_direction`` and ``planted_margin`` are stored too.

    With ``reg = 0``: ``f_star = 0`` (not attained), ``x_star = None``. With ``reg > 0``:
    numerical ``x_star``, ``f_star`` (see :class:`Logistic`).

    Parameters
    ----------
    n, d : int
        Number of points (>= 1) and dimension (>= 1).
    margin : float
        Planted margin, ``0 < margin < 1``.
    seed : int
        Seed of the direction, labels and points.
    reg : float
        Ridge parameter ``>= 0``.
    """
    if n < 1 or d < 1:
        raise ValueError(f"n and d must be >= 1, got n={n}, d={d}")
    if not (0.0 < margin < 1.0):
        raise ValueError(f"margin must be in (0, 1), got {margin}")
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(d)
    w /= np.linalg.norm(w)
    y = rng.choice(np.array([-1.0, 1.0]), size=n)
    t = rng.uniform(margin, 1.0, size=n)
    t[0] = margin
    X = (y * t)[:, None] * w[None, :]
    if d > 1:
        V = rng.standard_normal((n, d))
        V -= np.outer(V @ w, w)
        V /= np.linalg.norm(V, axis=1, keepdims=True)
        radius = np.sqrt(1.0 - t**2) * rng.uniform(0.0, 1.0, size=n) ** (1.0 / (d - 1))
        X += radius[:, None] * V
    prob = Logistic(X, y, reg=reg, separator=w,
                    name=f"logistic_separable(n={n}, d={d}, margin={margin:g}, reg={reg:g})")
    prob.planted_direction = w
    prob.planted_margin = float(margin)
    return prob


def _label_noise_data(n: int, d: int, flip: float, seed: int, *, x_div: float,
                      w_norm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X ~ N(0, I) / x_div``, ``y = sign(X w)`` for a random ``w`` of norm ``w_norm``, then
    ``ceil(flip n)`` labels chosen at random flipped; returns ``(X, y, w)``."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(d)
    w = w / np.linalg.norm(w) * w_norm
    X = rng.standard_normal((n, d)) / x_div
    y = np.where(X @ w >= 0.0, 1.0, -1.0)
    k = math.ceil(flip * n)
    if k:
        y[rng.choice(n, size=k, replace=False)] *= -1.0
    return X, y, w


def logistic_nonseparable(n: int = 200, d: int = 10, *, flip: float = 0.1, seed: int = 0,
                          reg: float = 0.0) -> Logistic:
    """Gaussian data labelled by a planted direction, with label noise.

    Rows ``x_i ~ N(0, I/d)`` (so ``E ||x_i||^2 = 1``), labels ``sign(w^T x_i)`` for a
    unit ``w`` drawn from ``seed``, then exactly ``ceil(flip * n)`` labels flipped at
    random. For ``flip > 0`` and ``n`` well above ``d`` the data are non-separable with
    high probability, not surely: the problem's ``separable`` attribute (from the SVM)
    says which. When not separable, ``x_star`` and ``f_star`` are numerical (Newton,
    ``||grad|| <= 1e-12``), also for ``reg = 0``.

    Parameters
    ----------
    n, d : int
        Number of points (>= 1) and dimension (>= 1).
    flip : float
        Fraction of flipped labels, ``0 <= flip <= 0.5``.
    seed : int
        Seed of the direction, points and flips.
    reg : float
        Ridge parameter ``>= 0``.
    """
    if n < 1 or d < 1:
        raise ValueError(f"n and d must be >= 1, got n={n}, d={d}")
    if not (0.0 <= flip <= 0.5):
        raise ValueError(f"flip must be in [0, 0.5], got {flip}")
    X, y, w = _label_noise_data(n, d, flip, seed, x_div=math.sqrt(d), w_norm=1.0)
    prob = Logistic(X, y, reg=reg, name=f"logistic_nonseparable(n={n}, d={d}, flip={flip:g}, reg={reg:g})")
    prob.planted_direction = w
    return prob
