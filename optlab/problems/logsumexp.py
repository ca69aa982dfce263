"""Smoothed max (log-sum-exp) and multinomial logistic (softmax) regression.

Both evaluate ``log sum exp`` with the maximum shifted out, so they never overflow, and
both rest on one fact about the softmax covariance ``S = diag(p) - p p^T`` of a
probability vector ``p``: ``u^T S u`` is the variance of ``u_I`` with ``I ~ p``, which
by Popoviciu's inequality is at most ``(max u - min u)^2 / 4 <= ||u||^2 / 2``, so
``0 <= S <= I/2``.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from optlab.backend import as_float_array, namespace, to_numpy
from optlab.problems._newton import _newton_minimize
from optlab.problems.base import Problem

__all__ = ["LogSumExp", "SoftmaxRegression", "logsumexp_shifted", "softmax_regression"]

_SCRATCH = threading.local()  # per thread: one float64 buffer reused by weighted_gram for its X = diag(w) A


def weighted_gram(A: Any, w: Any, g: Any = None) -> Any:
    """``X^T X - g g^T`` with ``X = diag(w) A`` (``A``: ``(n, d)``, ``w``: ``(n,)``, ``g``: ``(d,)`` or None).

    One symmetric product: NumPy runs ``X.T @ X`` as a BLAS syrk, half the flops of the general
    product ``(A^T w^2) A``. On float64 NumPy arrays ``X`` goes to a per-thread scratch buffer
    and ``g g^T`` is subtracted in place (BLAS ger): fresh n x d and d x d temporaries on every
    call cost page faults (glibc hands large freed blocks back to the OS), up to 1.6x the
    product itself at d = 500.
    """
    if type(A) is np.ndarray and type(w) is np.ndarray and A.dtype == w.dtype == np.float64 and A.ndim == 2:
        size = A.size
        buf = getattr(_SCRATCH, "buf", None)
        if buf is None or buf.size < size:
            buf = _SCRATCH.buf = np.empty(size)
        X = buf[:size].reshape(A.shape)
        np.multiply(A, w[:, None], out=X)
        H = X.T @ X
        if g is not None:
            from scipy.linalg.blas import dger  # lazy: keeps `import optlab.problems` free of scipy

            # H is C-ordered and g g^T symmetric: ger on the Fortran-ordered view H.T updates H in place
            H = dger(-1.0, g, g, a=H.T, overwrite_a=1).T
        return H
    X = A * w[:, None]
    H = X.T @ X
    return H if g is None else H - g[:, None] * g[None, :]


class LogSumExp(Problem):
    """``f(x) = mu * log sum_i exp((a_i^T x - b_i) / mu)``, a smoothed ``max_i (a_i^T x - b_i)``.

    Convex, with gradient ``A^T pi`` and Hessian ``A^T (diag(pi) - pi pi^T) A / mu``,
    ``pi = softmax((A x - b) / mu)``. Not strongly convex (``f`` grows at most linearly
    and its Hessian vanishes along directions where one row dominates), so
    ``constants["mu"] = 0``.

    Parameters
    ----------
    A : array_like, shape (n, d)
        Rows ``a_i``.
    b : array_like, shape (n,)
        Offsets ``b_i``.
    mu : float
        Smoothing parameter ``> 0``: ``max_i (a_i^T x - b_i) <= f(x) <= max_i (...) + mu log n``.
    name : str, optional
        Display name.
    x0 : array_like, optional
        Standard starting point (zeros by default).

    Notes
    -----
    Constants, with ``r = max_i ||a_i||``:

    * ``L = ||A||_2^2 / (2 mu)``: the Hessian is ``A^T S A / mu`` with ``S <= I/2``
      (module docstring), so this is a valid bound, a factor 2 below the textbook
      ``||A||_2^2 / mu``;
    * ``mu = 0``;
    * ``L2 = r min(2 r^2, ||A||_2^2) / mu^2``, a Hessian-Lipschitz constant:
      ``D^3 f[u,u,u]`` is ``1/mu^2`` times the third central moment of ``v = A u``
      under ``pi``, bounded by ``(max v - min v) Var(v) <= 2 r * min(r^2, ||A||^2/2)``
      for a unit ``u``, and for a symmetric trilinear form the sup over ``u = v = w`` is
      its norm;
    * ``R = r``.

    No minimizer is known for general data (there may be none: ``f`` is unbounded below
    when some ``x`` has ``A x < 0`` entrywise); :func:`logsumexp_shifted` builds data
    with ``x_star = 0``.
    """

    def __init__(self, A: Any, b: Any, *, mu: float = 1.0, name: str | None = None, x0: Any = None) -> None:
        super().__init__()
        A = np.asarray(as_float_array(to_numpy(A), "A", ndim=2), dtype=np.float64)
        n, d = A.shape
        if n == 0 or d == 0:
            raise ValueError(f"A must have at least one row and one column, got shape {A.shape}")
        b = np.asarray(as_float_array(to_numpy(b), "b", ndim=1, size=n), dtype=np.float64)
        mu = float(mu)
        if not (math.isfinite(mu) and mu > 0.0):
            raise ValueError(f"mu must be finite and > 0, got {mu}")
        self.name = name if name is not None else f"logsumexp(n={n}, d={d}, mu={mu:g})"
        self.dim = d
        self.n = n
        self.mu = mu
        self.x0 = None if x0 is None else np.asarray(x0, dtype=np.float64)
        self._set_data(A=A, b=b)
        norm_A = float(np.linalg.norm(A, 2))
        r = float(np.linalg.norm(A, axis=1).max())
        self.constants = {
            "L": norm_A**2 / (2.0 * mu),
            "mu": 0.0,
            "L2": r * min(2.0 * r**2, norm_A**2) / mu**2,
            "R": r,
        }

    def _scores(self, x: Any) -> tuple[Any, Any, Any]:
        """``A``, ``z - max z`` and ``max z`` for ``z = (A x - b) / mu``."""
        xp = namespace(x)
        d = self.data(x)
        z = (d["A"] @ x - d["b"]) / self.mu
        zmax = xp.max(z)
        return d["A"], z - zmax, zmax

    def f(self, x: Any) -> Any:
        xp = namespace(x)
        _, z, zmax = self._scores(x)
        return self.mu * (zmax + xp.log(xp.sum(xp.exp(z))))

    def softmax(self, x: Any) -> Any:
        """``pi = softmax((A x - b) / mu)``, shape ``(n,)``."""
        xp = namespace(x)
        _, z, _ = self._scores(x)
        e = xp.exp(z)
        return e / xp.sum(e)

    def grad(self, x: Any) -> Any:
        return self.softmax(x) @ self.data(x)["A"]

    def value_and_grad(self, x: Any) -> tuple[Any, Any]:
        xp = namespace(x)
        A, z, zmax = self._scores(x)
        e = xp.exp(z)
        s = xp.sum(e)
        return self.mu * (zmax + xp.log(s)), (e / s) @ A

    def hess(self, x: Any) -> Any:
        # X^T X - g g^T with X = diag(sqrt(pi / mu)) A and g = A^T pi / sqrt(mu): one symmetric product
        xp = namespace(x)
        A = self.data(x)["A"]
        pi = self.softmax(x)
        return weighted_gram(A, xp.sqrt(pi / self.mu), (pi @ A) / math.sqrt(self.mu))

    def hvp(self, x: Any, v: Any) -> Any:
        A = self.data(x)["A"]
        pi = self.softmax(x)
        g = pi @ A
        return ((pi * (A @ v)) @ A - g * (g @ v)) / self.mu


def logsumexp_shifted(n: int = 100, d: int = 10, *, mu: float = 1.0, seed: int = 0,
                      scale: float = 1.0) -> LogSumExp:
    """A :class:`LogSumExp` with minimizer ``x_star = 0`` and ``f_star`` in closed form.

    The rows come in ``n/2`` antipodal pairs, ``a_{i+n/2} = -a_i`` with
    ``b_{i+n/2} = b_i`` (``a_i ~ N(0, I/d)``, ``b_i ~ N(0, 1)`` for ``i < n/2``). At
    ``x = 0`` the softmax weights of the two rows of a pair are equal, so
    ``grad f(0) = A^T pi = sum_{i<n/2} pi_i (a_i - a_i) = 0``, and ``0`` is a global
    minimizer because ``f`` is convex:
    ``f_star = f(0) = mu * log sum_i exp(-b_i / mu)`` (computed max-shifted). It is the
    unique minimizer when the ``a_i`` span ``R^d`` (almost surely for ``n/2 >= d``),
    since then ``hess f(0) = A^T diag(pi) A / mu`` is positive definite.
    ``constants["mu_star"]`` is its smallest eigenvalue, a *local* strong convexity
    modulus at ``x_star``; ``f`` itself is not strongly convex (``constants["mu"] = 0``).
    The standard start ``x0`` is a random point with ``||x0 - x_star|| = scale``.

    Parameters
    ----------
    n : int
        Number of rows, even and >= 2.
    d : int
        Dimension (>= 1).
    mu : float
        Smoothing parameter ``> 0``.
    seed : int
        Seed of ``A``, ``b`` and ``x0``.
    scale : float
        ``||x0||``.
    """
    if n < 2 or n % 2:
        raise ValueError(f"n must be even and >= 2, got {n}")
    if d < 1:
        raise ValueError(f"d must be >= 1, got {d}")
    rng = np.random.default_rng(seed)
    half = n // 2
    A_half = rng.standard_normal((half, d)) / math.sqrt(d)
    b_half = rng.standard_normal(half)
    A = np.vstack([A_half, -A_half])
    b = np.concatenate([b_half, b_half])
    x0 = rng.standard_normal(d)
    x0 *= scale / np.linalg.norm(x0)
    prob = LogSumExp(A, b, mu=mu, x0=x0, name=f"logsumexp_shifted(n={n}, d={d}, mu={mu:g})")
    z = -b / mu
    zmax = z.max()
    prob.x_star = np.zeros(d)
    prob.f_star = float(mu * (zmax + np.log(np.sum(np.exp(z - zmax)))))
    pi = np.exp(z - zmax)
    pi /= pi.sum()
    prob.constants["mu_star"] = float(max(np.linalg.eigvalsh((A.T * pi) @ A / mu)[0], 0.0))
    return prob


class SoftmaxRegression(Problem):
    """Multinomial logistic regression with a ridge term.

    ``f(w) = 1/n sum_i [log sum_k exp(x_i^T W_k) - x_i^T W_{y_i}] + reg/2 ||W||_F^2``,
    where the parameter ``w`` is ``W`` (shape ``(d, K)``, column ``W_k`` for class
    ``k``) flattened in row-major order: ``w[j*K + k] = W[j, k]``, ``dim = d*K``.

    Gradient ``vec(X^T (P - Y) / n + reg W)`` with ``P`` the row-wise softmax of
    ``X W`` and ``Y`` the one-hot labels; Hessian
    ``1/n sum_i (x_i x_i^T) kron (diag(p_i) - p_i p_i^T) + reg I`` (dense,
    ``(dK, dK)``; fine for small ``d*K``).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Feature rows.
    Y_labels : array_like, shape (n,)
        Integer class labels in ``{0, ..., n_classes - 1}``.
    n_classes : int
        Number of classes ``K >= 2``.
    reg : float
        Ridge parameter ``>= 0``.
    name : str, optional
        Display name.
    x0 : array_like, optional
        Standard starting point (zeros by default).
    solve : bool
        With ``reg > 0``, compute ``x_star`` and ``f_star`` numerically at construction
        (Newton, ``||grad f(x_star)|| <= 1e-12``, ``f_star = f(x_star)``).

    Notes
    -----
    With ``reg = 0`` the loss is invariant under ``W -> W + c 1^T`` (the Hessian is
    singular) and the infimum may not be attained, so ``x_star = f_star = None``.

    Constants: ``L = ||X||_2^2 / (2n) + reg`` (the softmax covariance is ``<= I/2``);
    ``mu = reg``; ``L2 = mean_i ||x_i||^3 / sqrt(2)`` (third central moment of
    ``v = W^T x_i`` under ``p_i`` is at most ``(max v - min v) Var v <= ||v||^3/sqrt 2``
    and ``||v|| <= ||x_i|| ||W||_F``); ``R = max_i ||x_i||``.
    """

    def __init__(self, X: Any, Y_labels: Any, n_classes: int, reg: float = 0.0, *, name: str | None = None,
                 x0: Any = None, solve: bool = True) -> None:
        super().__init__()
        X = np.asarray(as_float_array(to_numpy(X), "X", ndim=2), dtype=np.float64)
        n, d = X.shape
        if n == 0 or d == 0:
            raise ValueError(f"X must have at least one row and one column, got shape {X.shape}")
        if isinstance(n_classes, bool) or int(n_classes) != n_classes or n_classes < 2:
            raise ValueError(f"n_classes must be an integer >= 2, got {n_classes}")
        K = int(n_classes)
        labels = np.asarray(as_float_array(to_numpy(Y_labels), "Y_labels", ndim=1, size=n))
        if not np.all(labels == np.round(labels)) or labels.min() < 0 or labels.max() >= K:
            raise ValueError(f"Y_labels must be integers in [0, {K - 1}], got values in "
                             f"[{labels.min():g}, {labels.max():g}]")
        labels = labels.astype(np.int64)
        reg = float(reg)
        if not (math.isfinite(reg) and reg >= 0.0):
            raise ValueError(f"reg must be finite and >= 0, got {reg}")

        self.name = name if name is not None else f"softmax_regression(n={n}, d={d}, K={K}, reg={reg:g})"
        self.n, self.d, self.n_classes = n, d, K
        self.dim = d * K
        self.reg = reg
        self.labels = labels
        self.x0 = None if x0 is None else np.asarray(x0, dtype=np.float64)
        Y = np.zeros((n, K))
        Y[np.arange(n), labels] = 1.0
        # Xr[i, j*K + k] = X[i, j]; mask[(j,k), (l,m)] = [k == m]
        self._set_data(X=X, Y=Y, Xr=np.repeat(X, K, axis=1), mask=np.kron(np.ones((d, d)), np.eye(K)))
        norm_X = float(np.linalg.norm(X, 2))
        row_norms = np.linalg.norm(X, axis=1)
        self.constants = {
            "L": norm_X**2 / (2.0 * n) + reg,
            "mu": reg,
            "L2": float(np.mean(row_norms**3)) / math.sqrt(2.0),
            "R": float(row_norms.max()),
        }
        if solve and reg > 0.0:
            x, gnorm = _newton_minimize(lambda t: float(self.f(t)), self.grad, self.hess, np.zeros(self.dim))
            if gnorm > 1e-12:  # strongly convex and smooth: Newton does not miss this
                raise RuntimeError(f"{self.name}: Newton reached only ||grad|| = {gnorm:.3g}")
            self.x_star = x
            self.f_star = float(self.f(x))

    def _probs(self, x: Any) -> tuple[dict[str, Any], Any, Any, Any]:
        """Data, ``W``, scores ``S = X W`` minus their row max, and that row max."""
        xp = namespace(x)
        dat = self.data(x)
        W = xp.reshape(x, (self.d, self.n_classes))
        S = dat["X"] @ W
        smax = xp.max(S, axis=1, keepdims=True)
        return dat, W, S - smax, smax

    def _softmax(self, x: Any) -> tuple[dict[str, Any], Any, Any]:
        xp = namespace(x)
        dat, W, S, _ = self._probs(x)
        E = xp.exp(S)
        return dat, W, E / xp.sum(E, axis=1, keepdims=True)

    def f(self, x: Any) -> Any:
        xp = namespace(x)
        dat, _, S, _ = self._probs(x)
        # lse_i - S_{i, y_i}, with the row max cancelling between the two terms
        loss = xp.log(xp.sum(xp.exp(S), axis=1)) - xp.sum(S * dat["Y"], axis=1)
        val = xp.mean(loss)
        if self.reg:
            val = val + (0.5 * self.reg) * (x @ x)
        return val

    def grad(self, x: Any) -> Any:
        xp = namespace(x)
        dat, W, P = self._softmax(x)
        G = (dat["X"].T @ (P - dat["Y"])) / self.n
        if self.reg:
            G = G + self.reg * W
        return xp.reshape(G, (self.dim,))

    def value_and_grad(self, x: Any) -> tuple[Any, Any]:
        xp = namespace(x)
        dat, W, S, _ = self._probs(x)
        E = xp.exp(S)
        s = xp.sum(E, axis=1, keepdims=True)
        val = xp.mean(xp.log(s[:, 0]) - xp.sum(S * dat["Y"], axis=1))
        G = (dat["X"].T @ (E / s - dat["Y"])) / self.n
        if self.reg:
            val = val + (0.5 * self.reg) * (x @ x)
            G = G + self.reg * W
        return val, xp.reshape(G, (self.dim,))

    def hess(self, x: Any) -> Any:
        xp = namespace(x)
        dat, _, P = self._softmax(x)
        n, dK = self.n, self.dim
        T = xp.reshape(dat["X"][:, :, None] * P[:, None, :], (n, dK))  # T[i, j*K+k] = x_ij p_ik
        H = ((T.T @ dat["Xr"]) * dat["mask"] - T.T @ T) / n
        if self.reg:
            H = H + self.reg * xp.eye(dK, dtype=x.dtype, device=x.device)
        return H

    def hvp(self, x: Any, v: Any) -> Any:
        xp = namespace(x)
        dat, _, P = self._softmax(x)
        V = xp.reshape(v, (self.d, self.n_classes))
        PQ = P * (dat["X"] @ V)
        Rm = PQ - P * xp.sum(PQ, axis=1, keepdims=True)
        out = (dat["X"].T @ Rm) / self.n
        if self.reg:
            out = out + self.reg * V
        return xp.reshape(out, (self.dim,))


def softmax_regression(n: int = 200, d: int = 5, n_classes: int = 3, *, reg: float = 1e-2,
                       seed: int = 0) -> SoftmaxRegression:
    """Gaussian features with labels drawn from a planted softmax model.

    Rows ``x_i ~ N(0, I/d)``; a planted ``W0`` with ``N(0, 4)`` entries; label ``y_i``
    drawn from ``softmax(W0^T x_i)``, so the classes overlap (non-separable with high
    probability). With ``reg > 0``, ``x_star`` and ``f_star`` are numerical (Newton,
    ``||grad|| <= 1e-12``); with ``reg = 0`` they are ``None``.

    Parameters
    ----------
    n, d : int
        Number of points and feature dimension (>= 1).
    n_classes : int
        Number of classes (>= 2).
    reg : float
        Ridge parameter ``>= 0``.
    seed : int
        Seed of the features, ``W0`` and labels.
    """
    if n < 1 or d < 1:
        raise ValueError(f"n and d must be >= 1, got n={n}, d={d}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) / math.sqrt(d)
    W0 = 2.0 * rng.standard_normal((d, n_classes))
    S = X @ W0
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    labels = (rng.uniform(size=(n, 1)) > np.cumsum(P, axis=1)).sum(axis=1)
    labels = np.minimum(labels, n_classes - 1)
    prob = SoftmaxRegression(X, labels, n_classes, reg,
                             name=f"softmax_regression(n={n}, d={d}, K={n_classes}, reg={reg:g})")
    prob.planted_W = W0
    return prob
