"""Bilevel problems ``min_x Phi(x) = f(x, y*(x))``, ``y*(x) = argmin_y g(x, y)``, with closed forms.

Spec: ``shared/papers/bo_rep.md`` (Hao, Gong, Liu, "Bilevel Optimization under Unbounded
Smoothness", ICLR 2024), sections 5 and 6.

A bilevel problem is a :class:`~optlab.problems.base.Problem` in ``x``: ``f``, ``grad`` and
``hess`` are ``Phi``, ``grad Phi`` and ``Hess Phi`` (measurements, never oracle calls), and
``dim = dx``. On top it provides the **stochastic oracles** a bilevel method may call, each
taking the method's random stream ``rng`` (a ``numpy.random.Generator``, one per oracle kind)
and returning arrays in the namespace, dtype and device of ``x``:

=========================  ===============================================  ==========
``grad_F(x, y, rng)``      ``(grad_x F, grad_y F)``, one sample ``xi``       grad_f
``grad_yG(x, y, rng)``     ``grad_y G(x, y; zeta)``                          grad_g
``hvp_yy(x, y, v, rng)``   ``Hess_yy G(x, y; zeta) v``                      hvp
``jvp_xy(x, y, v, rng)``   ``Hess_xy G(x, y; zeta) v`` (length ``dx``)      jvp
=========================  ===============================================  ==========

and the closed-form references ``y_star(x)`` and ``z_star(x, y) = [Hess_yy g]^{-1} grad_y f``.
Noise is drawn on the host from ``rng`` (so NumPy, CuPy and ``array_api_strict`` runs see the
same numbers) and moved to the namespace of ``x``.

Optional fast path: a family whose lower level is ``g = 1/2 y^T A y - y^T B x`` with Gaussian
oracle noise exposes ``lower_quadratic = {"A", "B", "sigma_g", "sigma_H"}`` (NumPy arrays and
floats). A method may then run its lower-level loops in a Numba kernel that draws the very same
numbers from the same stream (``grad_yG`` draws ``rng.standard_normal(dy)``; ``hvp_yy`` draws
``rng.standard_normal(dy + 1)``). A separable upper level ``f = sum_i u(x_i) + sum_j logcosh(y_j - c_j)``
with ``u`` from a small menu (``"quartic"``, ``"cosh"``) and noise ``sigma_f xi`` (``grad_F`` draws
``rng.standard_normal(dx + dy)``) is described by ``upper_separable = {"x", "c", "sigma_f"}``;
with both descriptions a method may run its whole loop in Numba. No problem imports a method.

Noise model of the quadratic lower level (section 5 of the spec)::

    grad F   = grad f + sigma_f xi                     xi ~ N(0, I_{dx+dy})
    grad_y G = A y - B x + sigma_g zeta                zeta ~ N(0, I_dy)
    HVP[v]   = (A + sigma_H W) v                       W ~ GOE(dy): W_ij ~ N(0, 1/dy), W_ii ~ N(0, 2/dy)
    JVP[v]   = -(B + sigma_H W')^T v                   W'_ij ~ N(0, 1/dy)

[our choice] ``W v`` is sampled exactly in distribution as ``(||v|| xi + v eta) / sqrt(dy)``
(``xi ~ N(0, I)``, ``eta ~ N(0, 1)``; the covariance of ``W v`` for a GOE ``W`` is
``(||v||^2 I + v v^T) / dy``) and ``W'^T v`` as ``||v|| xi / sqrt(dy)``: O(d) random numbers per
call instead of O(d^2), the same law for every single product (a fresh ``W`` per call).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from optlab.backend import namespace, to_numpy
from optlab.problems.base import Problem

__all__ = [
    "BilevelProblem",
    "HyperCleaning",
    "QuadraticLowerBilevel",
    "bilevel_p1",
    "bilevel_p2",
    "hyper_cleaning",
    "quadratic_lower_level",
]

# max_u |3u^2 - 1| - |u^3 - u|, attained at u = 1 + sqrt(4/3) (section 5: the quartic's (L0, L1) with L1 = 1)
_U_QUARTIC = 1.0 + math.sqrt(4.0 / 3.0)
QUARTIC_L0 = 3 * _U_QUARTIC**2 - 1 - (_U_QUARTIC**3 - _U_QUARTIC)


class BilevelProblem(Problem):
    """Protocol of bilevel problems (see the module docstring); ``dim == dx``."""

    dx: int = 0
    dy: int = 0
    lower_quadratic: dict[str, Any] | None = None

    def grad_F(self, x: Any, y: Any, rng: np.random.Generator) -> tuple[Any, Any]:
        raise NotImplementedError

    def grad_yG(self, x: Any, y: Any, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def hvp_yy(self, x: Any, y: Any, v: Any, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def jvp_xy(self, x: Any, y: Any, v: Any, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def y_star(self, x: Any) -> Any:
        raise NotImplementedError

    def z_star(self, x: Any, y: Any) -> Any:
        raise NotImplementedError

    def y_init(self, like: Any) -> Any:
        """The lower-level starting point ``y_init = 0`` in the namespace and dtype of ``like``."""
        return namespace(like).zeros(self.dy, dtype=like.dtype, device=like.device)


def _noise(rng: np.random.Generator, n: int, like: Any) -> Any:
    return namespace(like).asarray(rng.standard_normal(n), dtype=like.dtype, device=like.device)


def _logcosh(xp: Any, u: Any) -> Any:
    a = xp.abs(u)
    return a + xp.log1p(xp.exp(-2.0 * a)) - math.log(2.0)


def quadratic_lower_level(dx: int, dy: int, *, mu: float = 1.0, l_g1: float = 10.0,
                          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``A = Q diag(lambda) Q^T`` with eigenvalues log-uniform in ``[mu, l_g1]`` (both ends included)
    and ``B ~ N(0, 1/dx)`` entrywise (standard deviation ``1/sqrt(dx)``)."""
    if dy < 1 or dx < 1:
        raise ValueError(f"dx and dy must be positive, got dx={dx}, dy={dy}")
    if not 0 < mu <= l_g1:
        raise ValueError(f"need 0 < mu <= l_g1, got mu={mu}, l_g1={l_g1}")
    Q, _ = np.linalg.qr(rng.standard_normal((dy, dy)))
    lam = np.exp(rng.uniform(math.log(mu), math.log(l_g1), dy))
    lam[0], lam[-1] = mu, l_g1
    if dy == 1:
        lam[0] = mu
    A = (Q * lam) @ Q.T
    A = 0.5 * (A + A.T)
    B = rng.standard_normal((dy, dx)) / math.sqrt(dx)
    return A, B


class QuadraticLowerBilevel(BilevelProblem):
    """``g(x, y) = 1/2 y^T A y - y^T B x`` and a separable upper level (P1, P2 of the spec).

    ``f(x, y) = sum_i u(x_i) + sum_j logcosh(y_j - c_j)`` with ``u(s) = (s^2 - 1)^2 / 4``
    (``upper="quartic"``, P1) or ``u(s) = cosh s - 2 s^2`` (``upper="cosh"``, P2). With
    ``M = A^{-1} B``: ``y*(x) = M x``, ``Phi(x) = sum u(x_i) + sum logcosh((M x - c)_j)``,
    ``grad Phi = u'(x) + M^T tanh(M x - c)``,
    ``Hess Phi = diag(u''(x)) + M^T diag(sech^2(M x - c)) M``.

    Constants (``self.constants``): ``mu``, ``l_g1`` (the drawn extreme eigenvalues of ``A``),
    ``l_f0 = sqrt(dy)`` (``|tanh| <= 1``), ``norm_M`` (``||A^{-1} B||_2``), and the (L0, L1) of
    ``Phi`` with ``||Hess Phi|| <= L0 + L1 ||grad Phi||``. For P1, ``L1 = 1`` and
    ``L0 = 5.079 + ||M||^2 + sqrt(dy) ||M||``: ``5.079 = max_s |3s^2 - 1| - |s^3 - s|`` (the quartic),
    ``||M||^2`` bounds the log-cosh term of the Hessian, and ``sqrt(dy) ||M||`` bounds
    ``||M^T tanh||``, the gap between ``||grad Phi||`` and the quartic's gradient. For P2, ``L1 = 2``
    and ``L0`` is ``max_s |cosh s - 4| - 2 |sinh s - 4 s|`` (a grid maximum) plus the same two terms.
    """

    def __init__(self, A: Any, B: Any, c: Any, *, upper: str = "quartic", sigma_f: float = 0.1,
                 sigma_g: float = 0.1, sigma_H: float = 0.1, name: str | None = None) -> None:
        super().__init__()
        A = np.asarray(A, dtype=np.float64)
        B = np.asarray(B, dtype=np.float64)
        c = np.asarray(c, dtype=np.float64)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix, got shape {A.shape}")
        dy = A.shape[0]
        if B.ndim != 2 or B.shape[0] != dy:
            raise ValueError(f"B must have shape ({dy}, dx), got {B.shape}")
        if c.shape != (dy,):
            raise ValueError(f"c must have shape ({dy},), got {c.shape}")
        if not np.allclose(A, A.T, atol=1e-12 * max(1.0, float(np.abs(A).max()))):
            raise ValueError("A must be symmetric")
        eig = np.linalg.eigvalsh(A)
        if eig[0] <= 0:
            raise ValueError(f"A must be positive definite (strongly convex lower level), smallest eigenvalue "
                             f"{eig[0]:.3g}")
        if upper not in ("quartic", "cosh"):
            raise ValueError(f"upper must be 'quartic' or 'cosh', got {upper!r}")
        for nm, s in (("sigma_f", sigma_f), ("sigma_g", sigma_g), ("sigma_H", sigma_H)):
            if not (math.isfinite(s) and s >= 0):
                raise ValueError(f"{nm} must be a non-negative number, got {s!r}")
        self.upper = upper
        self.dx, self.dy = B.shape[1], dy
        self.dim = self.dx
        self.sigma_f, self.sigma_g, self.sigma_H = float(sigma_f), float(sigma_g), float(sigma_H)
        self.name = name or f"bilevel_{'p1' if upper == 'quartic' else 'p2'}(dx={self.dx}, dy={dy})"
        Ainv = np.linalg.inv(A)
        Ainv = 0.5 * (Ainv + Ainv.T)
        M = np.linalg.solve(A, B)
        norm_M = float(np.linalg.norm(M, 2))
        if upper == "quartic":
            L1, base = 1.0, QUARTIC_L0
        else:
            s = np.linspace(0.0, 60.0, 600001)
            L1, base = 2.0, float(np.max(np.abs(np.cosh(s) - 4) - 2 * np.abs(np.sinh(s) - 4 * s)))
        self.constants = {
            "mu": float(eig[0]), "l_g1": float(eig[-1]), "l_g2": 0.0, "l_f0": math.sqrt(dy),
            "norm_M": norm_M, "L0": base + norm_M**2 + math.sqrt(dy) * norm_M, "L1": L1,
            "L0_upper": base, "L0_hess_term": norm_M**2, "L0_shift_term": math.sqrt(dy) * norm_M,
            "sigma_f": self.sigma_f, "sigma_g": self.sigma_g, "sigma_H": self.sigma_H,
        }
        self.lower_quadratic = {"A": A, "B": B, "sigma_g": self.sigma_g, "sigma_H": self.sigma_H}
        self.upper_separable = {"x": upper, "c": c, "sigma_f": self.sigma_f}
        self._set_data(A=A, B=B, c=c, Ainv=Ainv, M=M)

    # -- upper level ------------------------------------------------------------------
    def _u(self, xp: Any, x: Any) -> tuple[Any, Any, Any]:
        """Value, derivative and second derivative of the separable x-part, elementwise."""
        if self.upper == "quartic":
            return 0.25 * (x * x - 1.0) ** 2, x * x * x - x, 3.0 * x * x - 1.0
        return xp.cosh(x) - 2.0 * x * x, xp.sinh(x) - 4.0 * x, xp.cosh(x) - 4.0

    def upper_value(self, x: Any, y: Any) -> Any:
        """``f(x, y)``."""
        xp = namespace(x, y)
        d = self.data(x)
        return xp.sum(self._u(xp, x)[0]) + xp.sum(_logcosh(xp, y - d["c"]))

    def upper_grad(self, x: Any, y: Any) -> tuple[Any, Any]:
        """``(grad_x f, grad_y f)``, noiseless."""
        xp = namespace(x, y)
        return self._u(xp, x)[1], xp.tanh(y - self.data(x)["c"])

    def lower_grad_y(self, x: Any, y: Any) -> Any:
        """``grad_y g = A y - B x``, noiseless."""
        d = self.data(x)
        return d["A"] @ y - d["B"] @ x

    # -- closed forms (measurements) ----------------------------------------------------
    def y_star(self, x: Any) -> Any:
        return self.data(x)["M"] @ x

    def z_star(self, x: Any, y: Any) -> Any:
        return self.data(x)["Ainv"] @ namespace(x).tanh(y - self.data(x)["c"])

    def f(self, x: Any) -> Any:
        return self.upper_value(x, self.y_star(x))

    def grad(self, x: Any) -> Any:
        xp = namespace(x)
        d = self.data(x)
        return self._u(xp, x)[1] + d["M"].T @ xp.tanh(d["M"] @ x - d["c"])

    def hess(self, x: Any) -> Any:
        xp = namespace(x)
        d = self.data(x)
        t = xp.tanh(d["M"] @ x - d["c"])
        M = d["M"]
        H = M.T @ ((1.0 - t * t)[:, None] * M)
        return H + xp.eye(self.dx, dtype=x.dtype, device=x.device) * self._u(xp, x)[2][None, :]

    # -- stochastic oracles -------------------------------------------------------------
    def grad_F(self, x: Any, y: Any, rng: np.random.Generator) -> tuple[Any, Any]:
        gx, gy = self.upper_grad(x, y)
        if self.sigma_f > 0:
            xi = _noise(rng, self.dx + self.dy, x)
            gx, gy = gx + self.sigma_f * xi[: self.dx], gy + self.sigma_f * xi[self.dx:]
        return gx, gy

    def grad_yG(self, x: Any, y: Any, rng: np.random.Generator) -> Any:
        g = self.lower_grad_y(x, y)
        return g + self.sigma_g * _noise(rng, self.dy, x) if self.sigma_g > 0 else g

    def hvp_yy(self, x: Any, y: Any, v: Any, rng: np.random.Generator) -> Any:
        out = self.data(x)["A"] @ v
        if self.sigma_H > 0:
            xp = namespace(x)
            e = _noise(rng, self.dy + 1, x)
            out = out + (self.sigma_H / math.sqrt(self.dy)) * (xp.linalg.vector_norm(v) * e[: self.dy]
                                                               + v * e[self.dy])
        return out

    def jvp_xy(self, x: Any, y: Any, v: Any, rng: np.random.Generator) -> Any:
        out = -(self.data(x)["B"].T @ v)
        if self.sigma_H > 0:
            xp = namespace(x)
            out = out - (self.sigma_H / math.sqrt(self.dy)) * xp.linalg.vector_norm(v) * _noise(rng, self.dx, x)
        return out


def _instance(dx: int, dy: int, seed: int, min_norm_m2: float, mu: float, l_g1: float,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    for _ in range(1000):
        A, B = quadratic_lower_level(dx, dy, mu=mu, l_g1=l_g1, rng=rng)
        c = rng.standard_normal(dy)
        if np.linalg.norm(np.linalg.solve(A, B), 2) ** 2 >= min_norm_m2:
            return A, B, c
    raise ValueError(f"no instance with ||A^-1 B||^2 >= {min_norm_m2} in 1000 draws; lower min_norm_m2")


def bilevel_p1(dx: int = 4, dy: int = 4, *, seed: int = 0, sigma: float = 0.1, sigma_f: float | None = None,
               sigma_g: float | None = None, sigma_H: float | None = None, min_norm_m2: float = 0.0,
               mu: float = 1.0, l_g1: float = 10.0) -> QuadraticLowerBilevel:
    """P1: quartic + log-cosh upper level over the quadratic lower level (spec section 5).

    ``c ~ N(0, I)``, ``B ~ N(0, 1/dx)``, ``A`` with eigenvalues log-uniform in ``[mu, l_g1]``; the
    instance is redrawn (same stream) until ``||A^{-1} B||^2 >= min_norm_m2`` (the E1 instance uses
    1.5, spec section 10). ``sigma`` sets the three noise levels unless one is given on its own.
    """
    A, B, c = _instance(dx, dy, seed, min_norm_m2, mu, l_g1)
    return QuadraticLowerBilevel(
        A, B, c, upper="quartic", sigma_f=sigma if sigma_f is None else sigma_f,
        sigma_g=sigma if sigma_g is None else sigma_g, sigma_H=sigma if sigma_H is None else sigma_H)


def bilevel_p2(dx: int = 4, dy: int = 4, *, seed: int = 0, sigma: float = 0.1, min_norm_m2: float = 0.0,
               mu: float = 1.0, l_g1: float = 10.0) -> QuadraticLowerBilevel:
    """P2: ``cosh x - 2 x^2`` upper level (exponential growth; overflows for ``|x| > 710``)."""
    A, B, c = _instance(dx, dy, seed, min_norm_m2, mu, l_g1)
    return QuadraticLowerBilevel(A, B, c, upper="cosh", sigma_f=sigma, sigma_g=sigma, sigma_H=sigma)


# ----------------------------------------------------------------------------------------
# P3: data hyper-cleaning (finite sum)
# ----------------------------------------------------------------------------------------


class HyperCleaning(BilevelProblem):
    """Data hyper-cleaning: sample weights ``sigmoid(lambda_i)`` on noisy training labels.

    Lower level (strongly convex in ``W``, flattened as ``y`` of length ``p K``)::

        g(lambda, W) = (1/n) sum_i sigmoid(lambda_i) CE(W; a_i, b_i) + (reg/2) ||W||^2

    Upper level: the clean validation cross-entropy ``f(W) = (1/m) sum_j CE(W; a_j, b_j)``.
    ``x = lambda`` (length ``n``). Oracles sample minibatches (``batch`` rows, with replacement,
    from the oracle's stream), which is the family's settable noise. The references ``y*`` (L-BFGS,
    warm-started) and ``z*`` (CG on the exact Hessian-vector product) run on the host with SciPy;
    ``Phi`` and ``grad Phi`` are computed from them: ``grad Phi_i = -(1/n) sigmoid'(lambda_i) <grad CE_i(W*), z*>``.
    """

    def __init__(self, A_tr: Any, b_tr: Any, A_val: Any, b_val: Any, A_te: Any, b_te: Any, *, n_classes: int,
                 reg: float = 1e-2, batch: int = 64, name: str = "hyper_cleaning",
                 clean_mask: Any = None) -> None:
        super().__init__()
        if not (reg > 0):
            raise ValueError(f"reg must be positive (strong convexity of the lower level), got {reg!r}")
        if int(batch) != batch or batch < 1:
            raise ValueError(f"batch must be a positive integer, got {batch!r}")
        A_tr, A_val, A_te = (np.asarray(a, dtype=np.float64) for a in (A_tr, A_val, A_te))
        self.n, self.p = A_tr.shape
        self.K = int(n_classes)
        self.reg, self.batch = float(reg), int(batch)
        self.dx, self.dy = self.n, self.p * self.K
        self.dim = self.dx
        self.name = name
        self.labels = {"train": np.asarray(b_tr, dtype=np.int64), "val": np.asarray(b_val, dtype=np.int64),
                       "test": np.asarray(b_te, dtype=np.int64)}
        self.features = {"train": A_tr, "val": A_val, "test": A_te}
        self.clean_mask = None if clean_mask is None else np.asarray(clean_mask, dtype=bool)
        row2 = float(np.max(np.sum(A_tr**2, axis=1)))
        self.constants = {"mu": self.reg, "l_g1": 0.5 * row2 + self.reg, "reg": self.reg}
        onehot = {k: np.eye(self.K)[v] for k, v in self.labels.items()}
        self._set_data(A_tr=A_tr, Y_tr=onehot["train"], A_val=A_val, Y_val=onehot["val"])
        self._warm: np.ndarray | None = None

    # -- pieces -------------------------------------------------------------------------
    def _probs(self, xp: Any, A: Any, W: Any) -> Any:
        s = A @ W
        s = s - xp.max(s, axis=1, keepdims=True)
        e = xp.exp(s)
        return e / xp.sum(e, axis=1, keepdims=True)

    def _W(self, xp: Any, y: Any) -> Any:
        return xp.reshape(y, (self.p, self.K))

    def _rows(self, xp: Any, rng: np.random.Generator, n: int, like: Any) -> Any:
        return xp.asarray(rng.integers(0, n, self.batch), device=like.device)

    def _ce_grad(self, xp: Any, A: Any, Y: Any, W: Any, w: Any) -> Any:
        """``sum_i w_i grad CE_i(W)`` flattened (``w`` already holds the 1/batch)."""
        P = self._probs(xp, A, W)
        return xp.reshape(A.T @ ((P - Y) * w[:, None]), (-1,))

    # -- oracles --------------------------------------------------------------------------
    def grad_F(self, x: Any, y: Any, rng: np.random.Generator) -> tuple[Any, Any]:
        xp = namespace(x)
        d = self.data(x)
        idx = self._rows(xp, rng, d["A_val"].shape[0], x)
        A, Y = xp.take(d["A_val"], idx, axis=0), xp.take(d["Y_val"], idx, axis=0)
        w = xp.full(self.batch, 1.0 / self.batch, dtype=x.dtype, device=x.device)
        return xp.zeros_like(x), self._ce_grad(xp, A, Y, self._W(xp, y), w)

    def grad_yG(self, x: Any, y: Any, rng: np.random.Generator) -> Any:
        xp = namespace(x)
        d = self.data(x)
        idx = self._rows(xp, rng, self.n, x)
        A, Y = xp.take(d["A_tr"], idx, axis=0), xp.take(d["Y_tr"], idx, axis=0)
        w = 1.0 / (1.0 + xp.exp(-xp.take(x, idx))) / self.batch
        return self._ce_grad(xp, A, Y, self._W(xp, y), w) + self.reg * y

    def _hvp_rows(self, xp: Any, A: Any, W: Any, V: Any, w: Any) -> Any:
        P = self._probs(xp, A, W)
        S = A @ V
        J = P * S - P * xp.sum(P * S, axis=1, keepdims=True)
        return xp.reshape(A.T @ (J * w[:, None]), (-1,))

    def hvp_yy(self, x: Any, y: Any, v: Any, rng: np.random.Generator) -> Any:
        xp = namespace(x)
        d = self.data(x)
        idx = self._rows(xp, rng, self.n, x)
        A = xp.take(d["A_tr"], idx, axis=0)
        w = 1.0 / (1.0 + xp.exp(-xp.take(x, idx))) / self.batch
        return self._hvp_rows(xp, A, self._W(xp, y), self._W(xp, v), w) + self.reg * v

    def jvp_xy(self, x: Any, y: Any, v: Any, rng: np.random.Generator) -> Any:
        """Unbiased: the sampled rows get ``sigmoid'(lambda_i) <grad CE_i, V> / batch``, the others 0."""
        xp = namespace(x)
        d = self.data(x)
        idx = self._rows(xp, rng, self.n, x)
        A, Y = xp.take(d["A_tr"], idx, axis=0), xp.take(d["Y_tr"], idx, axis=0)
        W, V = self._W(xp, y), self._W(xp, v)
        P = self._probs(xp, A, W)
        inner = xp.sum((P - Y) * (A @ V), axis=1)
        s = 1.0 / (1.0 + xp.exp(-xp.take(x, idx)))
        vals = s * (1.0 - s) * inner / self.batch
        # scatter-add without in-place indexing (array API): one-hot rows of the batch
        onehot = xp.astype(xp.reshape(idx, (-1, 1)) == xp.arange(self.n, device=x.device)[None, :], x.dtype)
        return vals @ onehot

    # -- references on the host ----------------------------------------------------------
    def _g_np(self, lam: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
        W = w.reshape(self.p, self.K)
        A, Y = self.features["train"], np.eye(self.K)[self.labels["train"]]
        s = A @ W
        s -= s.max(axis=1, keepdims=True)
        lse = np.log(np.exp(s).sum(axis=1))
        sw = 1.0 / (1.0 + np.exp(-lam)) / self.n
        val = float(sw @ (lse - (s * Y).sum(axis=1))) + 0.5 * self.reg * float(w @ w)
        P = np.exp(s - lse[:, None])
        return val, (A.T @ ((P - Y) * sw[:, None])).ravel() + self.reg * w

    def y_star(self, x: Any) -> Any:
        import scipy.optimize

        lam = to_numpy(x).astype(np.float64)
        w0 = np.zeros(self.dy) if self._warm is None else self._warm
        res = scipy.optimize.minimize(lambda w: self._g_np(lam, w), w0, jac=True, method="L-BFGS-B",
                                      options={"gtol": 1e-10, "ftol": 0.0, "maxiter": 5000})
        self._warm = res.x
        return namespace(x).asarray(res.x, dtype=x.dtype, device=x.device)

    def _hvp_full_np(self, lam: np.ndarray, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        A = self.features["train"]
        sw = 1.0 / (1.0 + np.exp(-lam)) / self.n
        return self._hvp_rows(np, A, w.reshape(self.p, self.K), v.reshape(self.p, self.K), sw) + self.reg * v

    def z_star(self, x: Any, y: Any) -> Any:
        import scipy.sparse.linalg as spla

        lam, w = to_numpy(x).astype(np.float64), to_numpy(y).astype(np.float64)
        op = spla.LinearOperator((self.dy, self.dy), matvec=lambda v: self._hvp_full_np(lam, w, v), dtype=np.float64)
        gy = self._val_grad_np(w)
        z, _ = spla.cg(op, gy, rtol=1e-10, maxiter=10 * self.dy)
        return namespace(x).asarray(z, dtype=x.dtype, device=x.device)

    def _val_grad_np(self, w: np.ndarray) -> np.ndarray:
        A, Y = self.features["val"], np.eye(self.K)[self.labels["val"]]
        P = self._probs(np, A, w.reshape(self.p, self.K))
        return (A.T @ (P - Y) / A.shape[0]).ravel()

    def val_loss(self, y: Any, split: str = "val") -> float:
        """Unweighted mean cross-entropy of ``W = y`` on ``split`` (``train``, ``val`` or ``test``)."""
        A, b = self.features[split], self.labels[split]
        s = A @ to_numpy(y).astype(np.float64).reshape(self.p, self.K)
        s -= s.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(s).sum(axis=1)) - s[np.arange(len(b)), b]))

    def accuracy(self, y: Any, split: str = "test") -> float:
        """Classification accuracy of ``W = y`` on ``split``."""
        A, b = self.features[split], self.labels[split]
        return float(np.mean(np.argmax(A @ to_numpy(y).reshape(self.p, self.K), axis=1) == b))

    def f(self, x: Any) -> Any:
        return namespace(x).asarray(self.val_loss(self.y_star(x)), dtype=x.dtype, device=x.device)

    def grad(self, x: Any) -> Any:
        ys = self.y_star(x)
        z = to_numpy(self.z_star(x, ys))
        lam, w = to_numpy(x).astype(np.float64), to_numpy(ys).astype(np.float64)
        A, Y = self.features["train"], np.eye(self.K)[self.labels["train"]]
        P = self._probs(np, A, w.reshape(self.p, self.K))
        inner = np.sum((P - Y) * (A @ z.reshape(self.p, self.K)), axis=1)
        s = 1.0 / (1.0 + np.exp(-lam))
        g = -s * (1.0 - s) * inner / self.n
        return namespace(x).asarray(g, dtype=x.dtype, device=x.device)


def hyper_cleaning(*, noise: float = 0.3, seed: int = 0, reg: float = 1e-2, batch: int = 64,
                   n_max: int | None = None) -> HyperCleaning:
    """P3 on scikit-learn's bundled ``load_digits`` (no download): 60/20/20 split, ``noise`` of the
    training labels flipped to a uniformly drawn *other* class, features scaled to ``[0, 1]`` plus a
    bias column. ``n_max`` keeps only the first ``n_max`` samples (for fast tests)."""
    from sklearn.datasets import load_digits

    if not 0 <= noise < 1:
        raise ValueError(f"noise must be in [0, 1), got {noise!r}")
    data = load_digits()
    X, y = data.data / 16.0, data.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    if n_max is not None:
        perm = perm[: int(n_max)]
    X = np.hstack([X[perm], np.ones((len(perm), 1))])
    y = y[perm]
    n = len(y)
    n_tr, n_val = int(0.6 * n), int(0.2 * n)
    b_tr = y[:n_tr].copy()
    flip = rng.random(n_tr) < noise
    b_tr[flip] = (b_tr[flip] + rng.integers(1, 10, int(flip.sum()))) % 10
    return HyperCleaning(X[:n_tr], b_tr, X[n_tr:n_tr + n_val], y[n_tr:n_tr + n_val], X[n_tr + n_val:],
                         y[n_tr + n_val:], n_classes=10, reg=reg, batch=batch,
                         name=f"hyper_cleaning(digits, n={n_tr}, noise={noise})", clean_mask=~flip)
