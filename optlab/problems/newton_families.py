"""Problem families for gradient-regularized Newton and Gradient-Normalized Smoothness (GNS).

The families of ``shared/papers/gradient_regularized_newton.md`` (sections 1 and 4), each
with its exact gradient and Hessian and, where the methods need them, the approximate
Hessians of the paper. Every problem has a tuple attribute ``approximations`` naming
the kinds it offers and a method ``hess_approx(kind, x)`` returning that approximation
as a dense ``(dim, dim)`` array in the namespace of ``x``; an unknown kind raises
``ValueError`` naming it and the kinds available.

* :class:`NonlinearEquations` -- ``f = (1/p) ||u(x)||^p``, kinds ``"gauss_newton"`` and
  ``"fisher"`` (plus :meth:`NonlinearEquations.rank_one`); instances :func:`nle_linear`,
  :func:`rosenbrock_nle`, :func:`chebyshev_chain`.
* :class:`LogSumExpShifted` (:func:`lse_shifted`) -- kind ``"wgn"`` (weighted Gauss-Newton).
* :class:`LogisticApprox` (:func:`logistic_label_noise`) -- kinds ``"fisher"`` and ``"weighted"``.
* :class:`PowerChain` (:func:`power_chain`), :class:`SqrtOnePlusSq`
  (:func:`sqrt_one_plus_sq`), :class:`CubicPlusLinear` (:func:`cubic_plus_linear`) --
  exact Hessians only (``approximations = ()``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from optlab.backend import namespace
from optlab.problems.base import Problem
from optlab.problems.logistic import Logistic, _label_noise_data
from optlab.problems.logsumexp import LogSumExp, weighted_gram

__all__ = [
    "ChebyshevChain",
    "CubicPlusLinear",
    "LinearEquations",
    "LogSumExpShifted",
    "LogisticApprox",
    "NonlinearEquations",
    "PowerChain",
    "RosenbrockNLE",
    "SqrtOnePlusSq",
    "chebyshev_chain",
    "cubic_plus_linear",
    "logistic_label_noise",
    "lse_shifted",
    "nle_linear",
    "power_chain",
    "rosenbrock_nle",
    "sqrt_one_plus_sq",
]


class _Approximations:
    """Mixin: ``hess_approx(kind, x)`` dispatches to ``self._approx_<kind>(x)``."""

    approximations: tuple[str, ...] = ()

    def hess_approx(self, kind: str, x: Any) -> Any:
        """The approximate Hessian ``kind`` (one of :attr:`approximations`) at ``x``.

        Raises
        ------
        ValueError
            If ``kind`` is not one of :attr:`approximations`.
        """
        if kind not in self.approximations:
            avail = ", ".join(repr(k) for k in self.approximations) or "none"
            raise ValueError(f"{type(self).__name__} has no Hessian approximation {kind!r}; available: {avail}")
        return getattr(self, f"_approx_{kind}")(x)


def _diag(xp: Any, v: Any) -> Any:
    """``diag(v)`` in the array-API standard (no ``xp.diag``)."""
    return xp.eye(v.shape[0], dtype=v.dtype, device=v.device) * v[None, :]


# -- nonlinear equations ---------------------------------------------------------------------------
class NonlinearEquations(_Approximations, Problem):
    """``f(x) = (1/p) ||u(x)||^p`` for a residual ``u: R^n -> R^m`` and ``p >= 2``.

    Subclasses implement :meth:`residual` (``u``, shape ``(m,)``), :meth:`jacobian`
    (``J``, shape ``(m, n)``) and :meth:`residual_curvature` (``sum_i w_i Hess u_i`` for a
    weight vector ``w``, shape ``(n, n)``). With ``r = ||u||``:

    * gradient ``r^{p-2} J^T u``;
    * Hessian ``r^{p-2} (J^T J + sum_i u_i Hess u_i) + (p-2) r^{p-4} (J^T u)(J^T u)^T``;
    * ``"gauss_newton"``: the Hessian without ``r^{p-2} sum_i u_i Hess u_i``
      (symmetric PSD);
    * ``"fisher"``: only the rank-one part ``(p-2) r^{p-4} (J^T u)(J^T u)^T``
      (``= (p-2) r^{-p} grad grad^T``), also as :meth:`rank_one` ``(c, v)`` for
      Sherman-Morrison solves.

    At ``u = 0`` (and ``p < 4``) ``r^{p-4}`` is infinite but ``(J^T u)`` vanishes with
    ``r``: the rank-one term is ``O(r^{p-2})`` and is returned as 0 there (for ``p = 2``
    its coefficient is 0 anyway). ``r^{p-2}`` at ``r = 0`` is 0 for ``p > 2`` and 1 for
    ``p = 2``.

    ``f_star = 0`` for the instances here (the equations have a solution), so
    ``gap = f`` with no cancellation.
    """

    approximations = ("gauss_newton", "fisher")
    p: float = 2.0

    def _check_p(self, p: float) -> float:
        p = float(p)
        if not (math.isfinite(p) and p >= 2.0):
            raise ValueError(f"p must be finite and >= 2, got {p}")
        return p

    # -- to implement ---------------------------------------------------------------
    def residual(self, x: Any) -> Any:
        """``u(x)``, shape ``(m,)``."""
        raise NotImplementedError

    def jacobian(self, x: Any) -> Any:
        """``J(x)``, shape ``(m, n)``."""
        raise NotImplementedError

    def residual_curvature(self, x: Any, w: Any) -> Any:
        """``sum_i w_i Hess u_i(x)``, shape ``(n, n)``."""
        raise NotImplementedError

    # -- the oracle -----------------------------------------------------------------
    def _parts(self, x: Any) -> tuple[Any, Any, Any, Any]:
        """``u``, ``J``, ``r^{p-2}`` and the rank-one coefficient ``(p-2) r^{p-4}`` (0 at r = 0)."""
        xp = namespace(x)
        u = self.residual(x)
        J = self.jacobian(x)
        r = xp.linalg.vector_norm(u)
        pos = r > 0
        r_safe = xp.where(pos, r, xp.ones_like(r))
        zero = xp.zeros_like(r)
        a = xp.where(pos, r_safe ** (self.p - 2.0), zero if self.p > 2.0 else xp.ones_like(r))
        c = xp.where(pos, (self.p - 2.0) * r_safe ** (self.p - 4.0), zero)
        return u, J, a, c

    def f(self, x: Any) -> Any:
        xp = namespace(x)
        return xp.linalg.vector_norm(self.residual(x)) ** self.p / self.p

    def grad(self, x: Any) -> Any:
        u, J, a, _ = self._parts(x)
        return a * (u @ J)

    def value_and_grad(self, x: Any) -> tuple[Any, Any]:
        xp = namespace(x)
        u, J, a, _ = self._parts(x)
        return xp.linalg.vector_norm(u) ** self.p / self.p, a * (u @ J)

    def rank_one(self, x: Any) -> tuple[Any, Any]:
        """``(c, v)`` with ``hess_approx("fisher", x) == c v v^T``: ``c = (p-2)||u||^{p-4}``
        (0 where ``u = 0``, a 0-D array) and ``v = J^T u``."""
        u, J, _, c = self._parts(x)
        return c, u @ J

    def _approx_gauss_newton(self, x: Any) -> Any:
        u, J, a, c = self._parts(x)
        v = u @ J
        return a * (J.T @ J) + c * (v[:, None] * v[None, :])

    def _approx_fisher(self, x: Any) -> Any:
        c, v = self.rank_one(x)
        return c * (v[:, None] * v[None, :])

    def hess(self, x: Any) -> Any:
        u, J, a, c = self._parts(x)
        v = u @ J
        return a * (J.T @ J + self.residual_curvature(x, u)) + c * (v[:, None] * v[None, :])

    def hvp(self, x: Any, v: Any) -> Any:
        u, J, a, c = self._parts(x)
        g = u @ J
        return a * ((J @ v) @ J + self.residual_curvature(x, u) @ v) + c * (g @ v) * g


class LinearEquations(NonlinearEquations):
    """``u(x) = A x - b``: ``J = A``, ``Hess u_i = 0`` (Gauss-Newton is exact).

    Parameters
    ----------
    A : array_like, shape (m, n)
    b : array_like, shape (m,)
    p : float
        Power ``>= 2``.
    name : str, optional
    x0 : array_like, optional
    """

    def __init__(self, A: Any, b: Any, *, p: float = 4.0, name: str | None = None, x0: Any = None) -> None:
        super().__init__()
        A = np.asarray(A, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if A.ndim != 2 or b.shape != (A.shape[0],):
            raise ValueError(f"A must be (m, n) and b (m,), got shapes {A.shape} and {b.shape}")
        self.p = self._check_p(p)
        self.m, self.dim = A.shape
        self.name = name if name is not None else f"nle_linear(m={self.m}, n={self.dim}, p={self.p:g})"
        self.x0 = None if x0 is None else np.asarray(x0, dtype=np.float64)
        self._set_data(A=A, b=b)
        self.constants = {"p": self.p}

    def residual(self, x: Any) -> Any:
        d = self.data(x)
        return d["A"] @ x - d["b"]

    def jacobian(self, x: Any) -> Any:
        return self.data(x)["A"]

    def residual_curvature(self, x: Any, w: Any) -> Any:
        xp = namespace(x)
        return xp.zeros((self.dim, self.dim), dtype=x.dtype, device=x.device)


def nle_linear(m: int = 100, n: int = 200, *, p: float = 4.0, seed: int = 0) -> LinearEquations:
    """``f = (1/p) ||A x - b||^p``, spec section 4 "NLE, linear u".

    ``A`` has i.i.d. ``N(0, 1/n)`` entries (rows of norm about 1; the spec gives no
    scale -- our choice), ``b ~ U[-1, 1]^m``. With ``m < n`` (underdetermined, ``A`` of
    full row rank almost surely) ``f_star = 0``; ``x_star`` is the least-norm solution
    (``numpy.linalg.lstsq``), ``x0 = ones``. The attribute ``metric`` is the spec's
    ``B = A^T A + 1e-8 I`` (NumPy array).
    """
    if m < 1 or n < 1:
        raise ValueError(f"m and n must be >= 1, got m={m}, n={n}")
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / math.sqrt(n)
    b = rng.uniform(-1.0, 1.0, size=m)
    prob = LinearEquations(A, b, p=p, x0=np.ones(n), name=f"nle_linear(m={m}, n={n}, p={float(p):g}, seed={seed})")
    x_star, *_ = np.linalg.lstsq(A, b, rcond=None)
    if m <= n and np.linalg.norm(A @ x_star - b) <= 1e-10 * max(1.0, np.linalg.norm(b)):
        prob.x_star = x_star
        prob.f_star = 0.0
    prob.metric = A.T @ A + 1e-8 * np.eye(n)
    return prob


class RosenbrockNLE(NonlinearEquations):
    """``u(x) = (1 - x_1, 10 (x_2 - x_1^2))``, ``f = (1/p) ||u||^p`` (spec section 4, Rosenbrock-NLE).

    ``x_star = (1, 1)``, ``f_star = 0``, ``x0 = (-2, 2)``. ``Hess u_1 = 0``,
    ``Hess u_2 = [[-20, 0], [0, 0]]``.
    """

    def __init__(self, *, p: float = 5.0) -> None:
        super().__init__()
        self.p = self._check_p(p)
        self.dim = 2
        self.name = f"rosenbrock_nle(p={self.p:g})"
        self.x_star = np.ones(2)
        self.f_star = 0.0
        self.x0 = np.array([-2.0, 2.0])
        self.constants = {"p": self.p}
        # J(x) = J0 + x_1 J1; sum_i w_i Hess u_i = w_2 * C
        self._set_data(J0=np.array([[-1.0, 0.0], [0.0, 10.0]]), J1=np.array([[0.0, 0.0], [-20.0, 0.0]]),
                       C=np.array([[-20.0, 0.0], [0.0, 0.0]]))

    def residual(self, x: Any) -> Any:
        xp = namespace(x)
        return xp.stack([1.0 - x[0], 10.0 * (x[1] - x[0] * x[0])])

    def jacobian(self, x: Any) -> Any:
        d = self.data(x)
        return d["J0"] + x[0] * d["J1"]

    def residual_curvature(self, x: Any, w: Any) -> Any:
        return w[1] * self.data(x)["C"]


def rosenbrock_nle(*, p: float = 5.0) -> RosenbrockNLE:
    """The Rosenbrock residual ``u = (1 - x_1, 10 (x_2 - x_1^2))`` with ``f = ||u||^p / p`` (default ``p = 5``)."""
    return RosenbrockNLE(p=p)


class ChebyshevChain(NonlinearEquations):
    """Nesterov's Chebyshev chain: ``u_1 = (1 - x_1)/2``, ``u_i = x_i - (2 x_{i-1}^2 - 1)`` (``i >= 2``).

    ``m = n``; ``x_star = ones`` (the unique root: ``x_1 = 1`` and ``T_2(1) = 1``),
    ``f_star = 0``. ``J`` is lower bidiagonal: diagonal ``(-1/2, 1, ..., 1)``,
    ``J[i, i-1] = -4 x_{i-1}``; ``Hess u_i = -4 e_{i-1} e_{i-1}^T`` for ``i >= 2``.
    """

    def __init__(self, n: int = 200, *, p: float = 4.0, x0: Any = None, name: str | None = None) -> None:
        super().__init__()
        if n < 2:
            raise ValueError(f"n must be >= 2, got {n}")
        self.p = self._check_p(p)
        self.dim = self.m = int(n)
        self.name = name if name is not None else f"chebyshev_chain(n={n}, p={self.p:g})"
        self.x_star = np.ones(n)
        self.f_star = 0.0
        self.x0 = None if x0 is None else np.asarray(x0, dtype=np.float64)
        self.constants = {"p": self.p}
        diag = np.ones(n)
        diag[0] = -0.5
        self._set_data(D=np.diag(diag), S=np.eye(n, k=-1))  # S[i, i-1] = 1

    def residual(self, x: Any) -> Any:
        xp = namespace(x)
        return xp.concat([(1.0 - x[:1]) / 2.0, x[1:] - 2.0 * x[:-1] * x[:-1] + 1.0])

    def jacobian(self, x: Any) -> Any:
        d = self.data(x)
        return d["D"] + d["S"] * (-4.0 * x)[None, :]

    def residual_curvature(self, x: Any, w: Any) -> Any:
        xp = namespace(x)
        return _diag(xp, xp.concat([-4.0 * w[1:], xp.zeros_like(w[:1])]))


def chebyshev_chain(n: int = 200, *, p: float = 4.0, seed: int = 0) -> ChebyshevChain:
    """The Chebyshev chain with ``f = ||u||^p / p``, ``x0 ~ U[0, 1]^n`` drawn from ``seed``."""
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    x0 = np.random.default_rng(seed).uniform(0.0, 1.0, size=n)
    return ChebyshevChain(n, p=p, x0=x0, name=f"chebyshev_chain(n={n}, p={float(p):g}, seed={seed})")


# -- LogSumExp with x_star = 0 ---------------------------------------------------------------------
class LogSumExpShifted(_Approximations, LogSumExp):
    """:class:`~optlab.problems.logsumexp.LogSumExp` with the weighted Gauss-Newton approximation.

    ``"wgn"``: ``A^T diag(pi) A / mu`` with ``pi = softmax((A x - b)/mu)``. It exceeds
    the exact Hessian ``A^T (diag(pi) - pi pi^T) A / mu`` by ``grad grad^T / mu``
    (``grad = A^T pi``), so it is symmetric PSD and ``C1 = 0``, ``beta = 0`` (spec section 1).
    Built by :func:`lse_shifted`, which also sets ``metric``.
    """

    approximations = ("wgn",)

    def _approx_wgn(self, x: Any) -> Any:
        xp = namespace(x)
        return weighted_gram(self.data(x)["A"], xp.sqrt(self.softmax(x) / self.mu))  # one symmetric product


def lse_shifted(m: int = 200, n: int = 200, *, mu: float = 1.0, seed: int = 0) -> LogSumExpShifted:
    """``f = mu logsumexp((A x - b)/mu)`` with ``x_star = 0`` (spec section 4, LogSumExp).

    ``A0`` (``m x n``) has i.i.d. ``N(0, 1)`` entries, ``b ~ U[-1, 1]^m``. With
    ``pi0 = softmax(-b/mu)`` and ``g0 = A0^T pi0``, the rows are shifted,
    ``A = A0 - 1 g0^T``, so ``grad f(0) = A^T pi0 = g0 - g0 = 0``: ``x_star = 0`` is a
    minimizer (``f`` is convex) and ``f_star = f(0) = mu logsumexp(-b/mu)``. ``x0 = ones``.

    ``metric`` (NumPy) is ``A0^T A0`` from the *unshifted* ``A0``: ``A = (I - 1 pi0^T) A0``
    and ``I - 1 pi0^T`` annihilates ``1``, so ``rank A <= m - 1`` and ``A^T A`` is
    singular when ``m <= n`` -- it cannot serve as the metric ``B``. (For ``m = n``, ``f``
    is constant along ``A0^{-1} 1``: the minimizer is not unique, ``x_star = 0`` is one.)
    """
    if m < 1 or n < 1:
        raise ValueError(f"m and n must be >= 1, got m={m}, n={n}")
    mu = float(mu)
    if not (math.isfinite(mu) and mu > 0.0):
        raise ValueError(f"mu must be finite and > 0, got {mu}")
    rng = np.random.default_rng(seed)
    A0 = rng.standard_normal((m, n))
    b = rng.uniform(-1.0, 1.0, size=m)
    z = -b / mu
    zmax = z.max()
    e = np.exp(z - zmax)
    pi0 = e / e.sum()
    A = A0 - (A0.T @ pi0)[None, :]
    prob = LogSumExpShifted(A, b, mu=mu, x0=np.ones(n), name=f"lse_shifted(m={m}, n={n}, mu={mu:g}, seed={seed})")
    prob.x_star = np.zeros(n)
    prob.f_star = float(mu * (zmax + np.log(e.sum())))
    prob.metric = A0.T @ A0
    return prob


# -- logistic regression ---------------------------------------------------------------------------
class LogisticApprox(_Approximations, Logistic):
    """:class:`~optlab.problems.logistic.Logistic` with the paper's approximate Hessians.

    With margins ``m_i = y_i a_i^T x`` and ``s_i = sigma(-m_i)``:

    * ``"fisher"``: the empirical Fisher ``(1/n) sum_i s_i^2 a_i a_i^T``;
    * ``"weighted"``: ``(1/n) sum_i s_i a_i a_i^T``;

    (the exact Hessian has weights ``s_i (1 - s_i)``). With ``reg > 0`` both add
    ``reg I``, as the exact Hessian does.
    """

    approximations = ("fisher", "weighted")

    def _sig_neg(self, x: Any) -> tuple[Any, Any]:
        xp = namespace(x)
        Z = self.data(x)["Xy"]
        m = Z @ x
        return Z, xp.exp(-xp.logaddexp(xp.zeros_like(m), m))  # sigma(-m), no overflow

    def _weighted_gram(self, x: Any, w: Any, Z: Any) -> Any:
        xp = namespace(x)
        H = ((Z.T * w) @ Z) / self.n
        if self.reg:
            H = H + self.reg * xp.eye(self.dim, dtype=x.dtype, device=x.device)
        return H

    def _approx_fisher(self, x: Any) -> Any:
        Z, s = self._sig_neg(x)
        return self._weighted_gram(x, s * s, Z)

    def _approx_weighted(self, x: Any) -> Any:
        Z, s = self._sig_neg(x)
        return self._weighted_gram(x, s, Z)


def logistic_label_noise(n: int = 500, d: int = 10, *, flip: float = 0.05, w_norm: float = 3.0,
                         seed: int = 0) -> LogisticApprox:
    """Logistic regression (no ridge) on ``X ~ N(0, I)``, ``y = sign(X w)`` with label noise.

    ``w`` is a random direction of norm ``w_norm`` (stored as ``planted_w``; its norm does
    not change ``sign(X w)``), and ``ceil(flip * n)`` labels chosen at random are flipped.
    ``x_star``/``f_star`` come from :class:`Logistic`'s Newton solve (``||grad|| <= 1e-12``);
    a ``RuntimeError`` is raised if the data turn out separable or the solve fails.
    """
    if n < 1 or d < 1:
        raise ValueError(f"n and d must be >= 1, got n={n}, d={d}")
    if not (0.0 <= flip <= 0.5):
        raise ValueError(f"flip must be in [0, 0.5], got {flip}")
    X, y, w = _label_noise_data(n, d, flip, seed, x_div=1.0, w_norm=w_norm)
    name = f"logistic_label_noise(n={n}, d={d}, flip={flip:g}, seed={seed})"
    prob = LogisticApprox(X, y, reg=0.0, name=name)
    if prob.x_star is None or prob.f_star is None:
        raise RuntimeError(f"{name}: no finite minimizer found (separable={prob.separable}); "
                           "increase flip or n")
    prob.planted_w = w
    return prob


# -- worst instances and small test functions ------------------------------------------------------
class PowerChain(_Approximations, Problem):
    """``f(x) = (1/q) (|x_1|^q + sum_{i=1}^{n-1} |x_{i+1} - x_i|^q)``, ``q >= 2`` (spec section 4).

    With ``r = D x`` (``r_1 = x_1``, ``r_{i+1} = x_{i+1} - x_i``): gradient
    ``D^T (|r|^{q-1} sign r)``, Hessian ``(q-1) D^T diag(|r|^{q-2}) D`` (PSD: ``f`` is
    convex). ``x_star = 0``, ``f_star = 0``, ``x0 = ones`` (so ``r(x0) = e_1``,
    ``f(x0) = 1/q``).

    Constants: ``L2`` for ``q = 3``: ``||D^T diag(a) D|| <= ||D||^2 max|a_j|`` and
    ``| |r_j(x)| - |r_j(y)| | <= ||d_j|| ||x - y|| <= sqrt(2) ||x - y||`` give
    ``L2 = 2 sqrt(2) ||D||_2^2``; for ``q = 2`` (a quadratic) ``L = ||D||_2^2`` and
    ``L2 = 0``. Other ``q``: no global constant recorded.
    """

    def __init__(self, n: int = 100, *, q: float = 3.0) -> None:
        super().__init__()
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        q = float(q)
        if not (math.isfinite(q) and q >= 2.0):
            raise ValueError(f"q must be finite and >= 2, got {q}")
        self.q = q
        self.dim = int(n)
        self.name = f"power_chain(n={n}, q={q:g})"
        self.x_star = np.zeros(n)
        self.f_star = 0.0
        self.x0 = np.ones(n)
        Dm = np.eye(n) - np.eye(n, k=-1)
        self._set_data(D=Dm)
        normD2 = float(np.linalg.norm(Dm, 2)) ** 2
        self.constants = {"q": q}
        if q == 3.0:
            self.constants["L2"] = 2.0 * math.sqrt(2.0) * normD2
        elif q == 2.0:
            self.constants.update(L=normD2, L2=0.0)

    def _r(self, x: Any) -> Any:
        xp = namespace(x)
        return xp.concat([x[:1], x[1:] - x[:-1]])

    @staticmethod
    def _DT(xp: Any, w: Any) -> Any:
        """``D^T w``: ``(D^T w)_k = w_k - w_{k+1}``, last entry ``w_n``."""
        return w - xp.concat([w[1:], xp.zeros_like(w[:1])])

    def f(self, x: Any) -> Any:
        xp = namespace(x)
        return xp.sum(xp.abs(self._r(x)) ** self.q) / self.q

    def grad(self, x: Any) -> Any:
        xp = namespace(x)
        r = self._r(x)
        return self._DT(xp, xp.abs(r) ** (self.q - 1.0) * xp.sign(r))

    def hess(self, x: Any) -> Any:
        xp = namespace(x)
        D = self.data(x)["D"]
        h = (self.q - 1.0) * xp.abs(self._r(x)) ** (self.q - 2.0)
        return (D.T * h) @ D

    def hvp(self, x: Any, v: Any) -> Any:
        xp = namespace(x)
        h = (self.q - 1.0) * xp.abs(self._r(x)) ** (self.q - 2.0)
        return self._DT(xp, h * self._r(v))


def power_chain(n: int = 100, *, q: float = 3.0) -> PowerChain:
    """The worst instance ``(1/q)(|x_1|^q + sum |x_{i+1} - x_i|^q)``, ``x0 = ones``."""
    return PowerChain(n, q=q)


class SqrtOnePlusSq(_Approximations, Problem):
    """``f(x) = sqrt(1 + x^2)`` in 1-D (spec R1): ``x_star = 0``, ``f_star = 1``, ``x0 = 10``.

    ``f' = x (1+x^2)^{-1/2}``, ``f'' = (1+x^2)^{-3/2}`` (so ``L = 1``), ``f''' =
    -3x (1+x^2)^{-5/2}``, largest in modulus at ``x = 1/2``: ``L2 = 1.5 * 0.8^{2.5}``.
    Pure Newton maps ``x -> x - f'/f'' = -x^3`` and diverges from ``|x0| > 1``.
    ``gap`` is ``x^2 / (1 + sqrt(1 + x^2))`` (no cancellation).
    """

    def __init__(self, x0: float = 10.0) -> None:
        super().__init__()
        self.dim = 1
        self.name = "sqrt_one_plus_sq"
        self.x_star = np.zeros(1)
        self.f_star = 1.0
        self.x0 = np.array([float(x0)])
        self.constants = {"L": 1.0, "mu": 0.0, "L2": 1.5 * 0.8**2.5}

    def f(self, x: Any) -> Any:
        xp = namespace(x)
        return xp.sqrt(1.0 + x[0] * x[0])

    def gap(self, x: Any) -> Any:
        xp = namespace(x)
        s = x[0] * x[0]
        return s / (1.0 + xp.sqrt(1.0 + s))

    def grad(self, x: Any) -> Any:
        xp = namespace(x)
        return x / xp.sqrt(1.0 + x * x)

    def hess(self, x: Any) -> Any:
        xp = namespace(x)
        return xp.reshape((1.0 + x * x) ** -1.5, (1, 1))


def sqrt_one_plus_sq(x0: float = 10.0) -> SqrtOnePlusSq:
    """``f(x) = sqrt(1 + x^2)`` (1-D), start ``x0`` (default 10)."""
    return SqrtOnePlusSq(x0)


class CubicPlusLinear(_Approximations, Problem):
    """``f(x) = ||x||^3 / 3 + <c, x>`` (spec R2).

    Gradient ``||x|| x + c``; Hessian ``||x|| I + x x^T / ||x||`` (0 at ``x = 0``), which
    is Lipschitz with ``L2 = 2``. ``x_star = -c / ||c||^{1/2}`` (``||x*||^2 = ||c||``),
    ``f_star = -(2/3) ||c||^{3/2}``. ``x0 = ones`` (our choice).
    """

    def __init__(self, c: Any, *, name: str | None = None) -> None:
        super().__init__()
        c = np.asarray(c, dtype=np.float64)
        if c.ndim != 1 or c.size == 0:
            raise ValueError(f"c must be a non-empty vector, got shape {c.shape}")
        nc = float(np.linalg.norm(c))
        self.dim = c.size
        self.name = name if name is not None else f"cubic_plus_linear(n={c.size})"
        self.x_star = -c / math.sqrt(nc)
        self.f_star = -2.0 / 3.0 * nc**1.5
        self.x0 = np.ones(c.size)
        self.constants = {"L2": 2.0, "mu": 0.0}
        self._set_data(c=c)

    def f(self, x: Any) -> Any:
        xp = namespace(x)
        return xp.linalg.vector_norm(x) ** 3 / 3.0 + x @ self.data(x)["c"]

    def grad(self, x: Any) -> Any:
        xp = namespace(x)
        return xp.linalg.vector_norm(x) * x + self.data(x)["c"]

    def hess(self, x: Any) -> Any:
        xp = namespace(x)
        r = xp.linalg.vector_norm(x)
        pos = r > 0
        inv = xp.where(pos, 1.0 / xp.where(pos, r, xp.ones_like(r)), xp.zeros_like(r))
        return r * xp.eye(self.dim, dtype=x.dtype, device=x.device) + inv * (x[:, None] * x[None, :])

    def hvp(self, x: Any, v: Any) -> Any:
        xp = namespace(x)
        r = xp.linalg.vector_norm(x)
        pos = r > 0
        inv = xp.where(pos, 1.0 / xp.where(pos, r, xp.ones_like(r)), xp.zeros_like(r))
        return r * v + inv * (x @ v) * x


def cubic_plus_linear(n: int = 10, *, seed: int = 0) -> CubicPlusLinear:
    """``||x||^3/3 + <c, x>`` with ``c ~ N(0, I_n)`` from ``seed``."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    c = np.random.default_rng(seed).standard_normal(n)
    return CubicPlusLinear(c, name=f"cubic_plus_linear(n={n}, seed={seed})")
