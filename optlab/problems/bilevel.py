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

Families: P1/P2 (:class:`QuadraticLowerBilevel`), P3 data hyper-cleaning (:class:`HyperCleaning`) and
hyper-representation on synthetic tasks (:class:`HyperRepresentation`: shared features ``(W a)^2``,
per-task ridge heads with closed-form ``y*``, oracles that sample tasks and support rows).

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
    "HyperRepresentation",
    "QuadraticLowerBilevel",
    "bilevel_p1",
    "bilevel_p2",
    "hyper_cleaning",
    "hyper_representation",
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


# ----------------------------------------------------------------------------------------
# Hyper-representation on synthetic tasks (spec section 6, repro_hyperrep)
# ----------------------------------------------------------------------------------------


def _batch_option(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer or None (exact oracle), got {value!r}")
    return int(value)


class HyperRepresentation(BilevelProblem):
    """Hyper-representation (meta-learning) on synthetic regression tasks with closed-form ``y*``.

    ``T`` tasks share the feature map ``phi(a) = (W a)^{o2}`` (elementwise square; ``W`` is
    ``k x p``); task ``t`` has support inputs ``S_t`` (``n x p``) with targets ``b_t`` and query
    inputs ``Q_t`` (``m x p``) with targets ``c_t``. ``x = vec(W)`` (row-major, ``dx = k p``),
    ``y`` = the stacked per-task ridge heads ``h_t`` (``dy = T k``)::

        g(x, y) = sum_t (1/(2n)) ||phi(S_t) h_t - b_t||^2 + (mu/2) ||h_t||^2     (lower, per-task ridge)
        f(x, y) = (1/T) sum_t (1/(2m)) ||phi(Q_t) h_t - c_t||^2 + (rho/2) ||x||^2   (upper, query loss)

    ``g`` is a sum over tasks, so ``Hess_yy g = blockdiag(H_t)``, ``H_t = phi(S_t)^T phi(S_t) / n + mu I``,
    and ``g`` is ``mu``-strongly convex in ``y`` for every ``x``. Closed forms (one ``k x k``
    solve per task): ``h_t* = H_t^{-1} phi(S_t)^T b_t / n``, ``z*(x, y) = blockdiag(H_t)^{-1} grad_y f``,
    ``Phi(x) = f(x, y*(x))`` and ``grad Phi = grad_x f - Hess_xy g z*`` at ``y*``. Smoothness is
    unbounded in ``W``: ``phi`` is quadratic in ``W``, so ``f(W, h)`` is quartic and the lower
    Hessian ``H_t`` grows like ``||W||^4``; ``constants["l_g1"]`` is therefore the value at the
    family's start ``x0`` (and ``constants["l_g1_at"] = "x0"``), not a global bound.

    [our choice] The weight decay ``rho`` on ``W`` (default 0.05): without it ``Phi`` keeps decreasing
    along ``W -> s W``, ``s -> inf`` (features grow as ``s^2``, so the ridge penalty ``mu`` weighs
    less and less), the infimum is approached only at infinity, and there ``l_g1 ~ ||W||^4``
    outgrows any fixed lower-level step. In our tuning runs with ``rho = 0`` (2000 iterations) StocBiO
    diverged at every step tried (0.01 to 3) and BO-REP, MA-SOBA and TTSA at all but their smallest one.

    Stochastic oracles (all draws on the host from the method's ``rng``, then moved to the
    namespace of ``x``):

    - ``grad_F`` samples ``task_batch`` tasks with replacement (all ``m`` query rows of each): the
      task ``t`` drawn ``c_t`` times gets weight ``c_t T / task_batch`` in the mean over tasks.
    - ``grad_yG``, ``hvp_yy``, ``jvp_xy`` sample ``batch`` support rows with replacement
      independently in every task: the row drawn ``c_ti`` times gets weight ``c_ti / batch`` in
      place of ``1/n``. Every head is updated by every call (``g`` is a sum over tasks).

    ``batch=None`` / ``task_batch=None`` give the exact (noiseless) oracles. Each estimator is
    unbiased: the weights have expectation ``1/n`` (resp. 1), and every oracle is linear in them.
    """

    def __init__(self, S: Any, b: Any, Q: Any, c: Any, *, mu: float = 1.0, rho: float = 0.05, n_features: int,
                 batch: int | None = 10, task_batch: int | None = 10, x0: Any = None,
                 name: str | None = None) -> None:
        super().__init__()
        S, b, Q, c = (np.asarray(a, dtype=np.float64) for a in (S, b, Q, c))
        if S.ndim != 3 or Q.ndim != 3 or S.shape[0] != Q.shape[0] or S.shape[2] != Q.shape[2]:
            raise ValueError(f"S and Q must have shapes (T, n, p) and (T, m, p), got {S.shape} and {Q.shape}")
        T, n, p = S.shape
        m = Q.shape[1]
        if b.shape != (T, n):
            raise ValueError(f"b must have shape ({T}, {n}), got {b.shape}")
        if c.shape != (T, m):
            raise ValueError(f"c must have shape ({T}, {m}), got {c.shape}")
        if not (math.isfinite(mu) and mu > 0):
            raise ValueError(f"mu must be positive (strongly convex lower level), got {mu!r}")
        if not (math.isfinite(rho) and rho >= 0):
            raise ValueError(f"rho must be a non-negative number, got {rho!r}")
        if isinstance(n_features, bool) or int(n_features) != n_features or n_features < 1:
            raise ValueError(f"n_features must be a positive integer, got {n_features!r}")
        if not all(np.all(np.isfinite(a)) for a in (S, b, Q, c)):
            raise ValueError("S, b, Q and c must be finite")
        self.T, self.n, self.m, self.p, self.k = T, n, m, p, int(n_features)
        self.mu, self.rho = float(mu), float(rho)
        self.batch = _batch_option(batch, "batch")
        self.task_batch = _batch_option(task_batch, "task_batch")
        self.dx, self.dy = self.k * p, T * self.k
        self.dim = self.dx
        self.name = name or f"hyper_representation(T={T}, p={p}, k={self.k}, n={n}, m={m})"
        self._set_data(S=S, b=b, Q=Q, c=c)
        if x0 is not None:
            x0 = np.asarray(x0, dtype=np.float64)
            if x0.shape != (self.dx,):
                raise ValueError(f"x0 must have shape ({self.dx},), got {x0.shape}")
            self.x0 = x0
        H = self._lower_hessians(np, self.x_init())
        eig = np.linalg.eigvalsh(H)
        self.constants = {"mu": self.mu, "l_g1": float(eig[:, -1].max()), "l_g1_at": "x0", "n_tasks": T,
                          "batch": self.batch, "task_batch": self.task_batch}

    # -- pieces -------------------------------------------------------------------------
    def _W(self, xp: Any, x: Any) -> Any:
        return xp.reshape(x, (self.k, self.p))

    def _heads(self, xp: Any, y: Any) -> Any:
        return xp.reshape(y, (self.T, self.k, 1))

    def _feats(self, xp: Any, X: Any, x: Any) -> tuple[Any, Any]:
        """``U = X W^T`` and ``phi = U^2`` for a stack ``X`` of shape ``(T, rows, p)``."""
        U = X @ xp.matrix_transpose(self._W(xp, x))
        return U, U * U

    def _lower_hessians(self, xp: Any, x: Any, w: Any = None) -> Any:
        """``H_t = phi^T diag(w_t) phi + mu I`` (``w = 1/n``: the exact ones), shape ``(T, k, k)``."""
        _, P = self._feats(xp, self.data(x)["S"], x)
        Pw = P * (w[:, :, None] if w is not None else 1.0 / self.n)
        return xp.matrix_transpose(Pw) @ P + self.mu * xp.eye(self.k, dtype=x.dtype, device=x.device)

    def _w_rows(self, rng: np.random.Generator | None, like: Any) -> Any:
        """Per-task row weights ``(T, n)`` of the support sample (``1/n`` when exact)."""
        xp = namespace(like)
        if self.batch is None:
            return xp.full((self.T, self.n), 1.0 / self.n, dtype=like.dtype, device=like.device)
        idx = rng.integers(0, self.n, (self.T, self.batch)) + self.n * np.arange(self.T)[:, None]
        counts = np.bincount(idx.ravel(), minlength=self.T * self.n).reshape(self.T, self.n)
        return xp.asarray(counts / self.batch, dtype=like.dtype, device=like.device)

    def _w_tasks(self, rng: np.random.Generator | None, like: Any) -> Any:
        """Task weights ``(T,)`` of the upper sample (1 when exact); the mean over tasks is ``sum_t w_t f_t / T``."""
        xp = namespace(like)
        if self.task_batch is None:
            return xp.ones(self.T, dtype=like.dtype, device=like.device)
        counts = np.bincount(rng.integers(0, self.T, self.task_batch), minlength=self.T)
        return xp.asarray(counts * (self.T / self.task_batch), dtype=like.dtype, device=like.device)

    def _lower_grad(self, x: Any, y: Any, w: Any) -> Any:
        xp = namespace(x, y)
        d = self.data(x)
        _, P = self._feats(xp, d["S"], x)
        r = (P @ self._heads(xp, y))[..., 0] - d["b"]
        return xp.reshape((xp.matrix_transpose(P) @ (w * r)[:, :, None])[..., 0], (-1,)) + self.mu * y

    def _cross(self, x: Any, y: Any, v: Any, w: Any) -> Any:
        """``Hess_xy g v = d/dx <grad_y g(x, y), v>``: with ``r = phi h - b``, ``s = phi v``,
        ``d/dphi_ij = w_i (r_i v_j + s_i h_j)``, ``d/dU = 2 U d/dphi``, ``d/dW = sum_t (d/dU)^T S_t``."""
        xp = namespace(x, y)
        d = self.data(x)
        U, P = self._feats(xp, d["S"], x)
        h, vv = self._heads(xp, y), self._heads(xp, v)
        r = (P @ h)[..., 0] - d["b"]
        s = (P @ vv)[..., 0]
        G = 2.0 * U * (w * r)[:, :, None] * xp.reshape(vv, (self.T, 1, self.k)) \
            + 2.0 * U * (w * s)[:, :, None] * xp.reshape(h, (self.T, 1, self.k))
        return xp.reshape(xp.reshape(G, (-1, self.k)).T @ xp.reshape(d["S"], (-1, self.p)), (-1,))

    def _upper(self, x: Any, y: Any, wt: Any) -> tuple[Any, Any, Any]:
        """``(f, grad_x f, grad_y f)`` with task weights ``wt`` (ones: exact)."""
        xp = namespace(x, y)
        d = self.data(x)
        U, P = self._feats(xp, d["Q"], x)
        h = self._heads(xp, y)
        e = (P @ h)[..., 0] - d["c"]
        a = wt[:, None] / (self.T * self.m)
        val = 0.5 * xp.sum(a * e * e) + 0.5 * self.rho * xp.sum(x * x)
        gy = xp.reshape((xp.matrix_transpose(P) @ (a * e)[:, :, None])[..., 0], (-1,))
        G = 2.0 * U * (a * e)[:, :, None] * xp.reshape(h, (self.T, 1, self.k))
        gx = xp.reshape(xp.reshape(G, (-1, self.k)).T @ xp.reshape(d["Q"], (-1, self.p)), (-1,)) + self.rho * x
        return val, gx, gy

    # -- exact pieces (measurements) --------------------------------------------------------
    def upper_value(self, x: Any, y: Any) -> Any:
        """``f(x, y)``, the mean query loss of the heads ``y``."""
        return self._upper(x, y, self._ones(x))[0]

    def upper_grad(self, x: Any, y: Any) -> tuple[Any, Any]:
        """``(grad_x f, grad_y f)``, noiseless."""
        return self._upper(x, y, self._ones(x))[1:]

    def lower_grad_y(self, x: Any, y: Any) -> Any:
        """``grad_y g``, noiseless."""
        return self._lower_grad(x, y, self._exact_rows(x))

    def _ones(self, x: Any) -> Any:
        return namespace(x).ones(self.T, dtype=x.dtype, device=x.device)

    def _exact_rows(self, x: Any) -> Any:
        return namespace(x).full((self.T, self.n), 1.0 / self.n, dtype=x.dtype, device=x.device)

    def _solve(self, x: Any, rhs: Any) -> Any:
        """``blockdiag(H_t)^{-1} rhs`` by ``T`` batched ``k x k`` solves."""
        xp = namespace(x)
        return xp.reshape(xp.linalg.solve(self._lower_hessians(xp, x), self._heads(xp, rhs))[..., 0], (-1,))

    def y_star(self, x: Any) -> Any:
        xp = namespace(x)
        d = self.data(x)
        _, P = self._feats(xp, d["S"], x)
        rhs = (xp.matrix_transpose(P) @ d["b"][:, :, None])[..., 0] / self.n
        return self._solve(x, xp.reshape(rhs, (-1,)))

    def z_star(self, x: Any, y: Any) -> Any:
        return self._solve(x, self.upper_grad(x, y)[1])

    def f(self, x: Any) -> Any:
        return self.upper_value(x, self.y_star(x))

    def grad(self, x: Any) -> Any:
        ys = self.y_star(x)
        gx, gy = self.upper_grad(x, ys)
        return gx - self._cross(x, ys, self._solve(x, gy), self._exact_rows(x))

    # -- stochastic oracles -------------------------------------------------------------
    def grad_F(self, x: Any, y: Any, rng: np.random.Generator) -> tuple[Any, Any]:
        return self._upper(x, y, self._w_tasks(rng, x))[1:]

    def grad_yG(self, x: Any, y: Any, rng: np.random.Generator) -> Any:
        return self._lower_grad(x, y, self._w_rows(rng, x))

    def hvp_yy(self, x: Any, y: Any, v: Any, rng: np.random.Generator) -> Any:
        xp = namespace(x)
        H = self._lower_hessians(xp, x, self._w_rows(rng, x))
        return xp.reshape((H @ self._heads(xp, v))[..., 0], (-1,))

    def jvp_xy(self, x: Any, y: Any, v: Any, rng: np.random.Generator) -> Any:
        return self._cross(x, y, v, self._w_rows(rng, x))


def hyper_representation(n_tasks: int = 50, *, dim_in: int = 10, n_features: int = 5, n_support: int = 20,
                         n_query: int = 20, mu: float = 1.0, rho: float = 0.05, label_noise: float = 0.1,
                         batch: int | None = 10, task_batch: int | None = 10, seed: int = 0) -> HyperRepresentation:
    """Synthetic hyper-representation tasks (spec section 6, ``repro_hyperrep``).

    A teacher ``W_true`` (``n_features x dim_in``, entries ``N(0, 1/dim_in)``, so ``(W_true a)_i ~ N(0, 1)``)
    and per-task heads ``h_t ~ N(0, I)`` generate ``target = phi_true(a) . h_t + label_noise * N(0, 1)``
    for inputs ``a ~ N(0, I)``; ``n_support`` support and ``n_query`` query rows per task. The standard
    start ``x0`` is an independent draw of the same law as ``W_true`` (so ``Phi(x0)`` is far above the
    teacher's ``Phi(W_true)``). [our choice] ``mu = 0.1`` (the spec's authors use 1e-4 on an MLP
    head; a larger ridge keeps the lower level well conditioned, ``kappa = l_g1 / mu`` about 100 at
    ``x0``, so a few thousand SGD steps suffice). ``batch`` support rows per task per lower-level
    oracle call and ``task_batch`` tasks per upper-level call set the noise (``None``: exact).
    The teacher is kept as ``problem.w_true`` (flattened like ``x``). ``rho`` is the upper-level
    weight decay of :class:`HyperRepresentation` (why it is there: see that class).
    """
    for nm, v in (("n_tasks", n_tasks), ("dim_in", dim_in), ("n_features", n_features), ("n_support", n_support),
                  ("n_query", n_query)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{nm} must be a positive integer, got {v!r}")
    if not (math.isfinite(label_noise) and label_noise >= 0):
        raise ValueError(f"label_noise must be a non-negative number, got {label_noise!r}")
    rng = np.random.default_rng(seed)
    W_true = rng.standard_normal((n_features, dim_in)) / math.sqrt(dim_in)
    heads = rng.standard_normal((n_tasks, n_features))
    S = rng.standard_normal((n_tasks, n_support, dim_in))
    Q = rng.standard_normal((n_tasks, n_query, dim_in))

    def targets(X: np.ndarray) -> np.ndarray:
        P = (X @ W_true.T) ** 2
        return np.einsum("tnk,tk->tn", P, heads) + label_noise * rng.standard_normal(X.shape[:2])

    b, c = targets(S), targets(Q)
    x0 = (rng.standard_normal((n_features, dim_in)) / math.sqrt(dim_in)).ravel()
    name = f"hyper_representation(T={n_tasks}, p={dim_in}, k={n_features}, n={n_support}+{n_query}, seed={seed})"
    prob = HyperRepresentation(S, b, Q, c, mu=mu, rho=rho, n_features=n_features, batch=batch,
                               task_batch=task_batch, x0=x0, name=name)
    prob.w_true = W_true.ravel()
    return prob
