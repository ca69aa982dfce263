"""Gradient-regularized Newton methods: fixed RegN, AdaN, GNS (Algorithm 1), and baselines.

References: Semenov, Jaggi, Doikov, "Gradient-Normalized Smoothness for Optimization with
Approximate Hessians", ICLR 2026 (arXiv:2506.13710); Mishchenko, "Regularized Newton
method with global O(1/k^2) convergence", arXiv:2112.02089; Doikov & Nesterov,
"Gradient regularization of Newton method with Bregman distances", Math. Prog. 2023.

Every step solves ``(H_k + lam_k B) d = -g_k`` in a metric ``B`` (identity by default)
with ``lam_k`` proportional to a power of ``||g_k||_*``. The Hessian is one argument:

- ``"exact"``: ``problem.hess(x)``;
- ``"zero"``: ``H = 0``, the normalized gradient step ``-B^{-1} g / lam`` (no factorization);
- ``"rank_one"``: ``problem.rank_one(x) -> (c, v)``, ``H = c v v^T``, solved by
  Sherman-Morrison in O(d^2) (no factorization);
- any other string: ``problem.hess_approx(kind, x)`` (``"fisher"``, ``"wgn"``, ``"gauss_newton"``...);
- a callable ``hessian(problem, x, g)`` returning one of the above shapes, e.g. :func:`inexact`.

A failed Cholesky factorization or a non-finite trial value is a rejected trial,
never a crash; exhausted trials end the run with status ``search_failed``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from optlab.backend import as_float_array, as_positive_float, namespace
from optlab.newton._linalg import ZERO, Metric, RankOne, regularized_solve
from optlab.result import Monitor, Result, Status

__all__ = ["adan", "gns", "gradient_method", "inexact", "newton", "reg_newton"]

_EPS = float(np.finfo(np.float64).eps)


def _hessian_oracle(problem: Any, hessian: Any) -> Callable[[Any, Any], Any]:
    if callable(hessian):
        return lambda x, g: hessian(problem, x, g)
    if not isinstance(hessian, str):
        raise TypeError(f"hessian must be a string or a callable, got {type(hessian).__name__}")
    if hessian == "exact":
        return lambda x, g: problem.hess(x)
    if hessian == "zero":
        return lambda x, g: ZERO
    if hessian == "rank_one":
        if not hasattr(problem, "rank_one"):
            raise ValueError(f"hessian='rank_one' needs problem.rank_one(x); {problem.name} has none")
        return lambda x, g: RankOne(*problem.rank_one(x))
    if not hasattr(problem, "hess_approx"):
        raise ValueError(f"hessian={hessian!r} needs problem.hess_approx(kind, x); {problem.name} has none")
    return lambda x, g: problem.hess_approx(hessian, x)


def inexact(c: float, beta: float, base: str = "exact") -> Callable[[Any, Any, Any], Any]:
    """Controlled inexactness: ``H(x) = H_base(x) + c ||g||^(1 - beta) I`` (spec Section 4, [our choice]).

    With ``beta = 1`` the error is a constant ``c`` (the ``C1`` term of Assumption A3);
    with ``beta < 1`` it shrinks with the gradient (the ``C2`` term).
    """
    c, beta = float(c), float(beta)
    if not (c >= 0 and 0 <= beta <= 1):
        raise ValueError(f"need c >= 0 and 0 <= beta <= 1, got c={c}, beta={beta}")

    def hessian(problem: Any, x: Any, g: Any) -> Any:
        xp = namespace(x)
        H = _hessian_oracle(problem, base)(x, g)
        shift = c * float(xp.linalg.vector_norm(g)) ** (1.0 - beta)
        return H + shift * xp.eye(x.shape[0], dtype=x.dtype, device=x.device)

    return hessian


_STEP_FIELDS = ("gamma", "lam", "trials", "solves", "step", "decrease", "lemma_rhs")


def _checkpoint(mon: Monitor, k: int, x: Any, fx: Any, gn: float, fields: dict[str, float]) -> bool:
    """Record iteration ``k`` when due; True when the run must stop: the monitor says so (tolerance,
    budget, callback), or ``g = 0`` / a non-finite ``||g||`` (then ``lam`` is undefined), recorded too."""
    due = mon.due(k)
    if due and mon.record(k, x, fx, grad_norm=gn, **fields):
        return True
    if gn == 0.0 or not math.isfinite(gn):
        if not due:
            mon.record(k, x, fx, grad_norm=gn, **fields)
        return True
    return False


def _setup(problem: Any, x0: Any, metric: Any, max_iter: int, record_every: int, gtol: float | None,
           ftol: float | None, callback: Any) -> tuple[Any, Metric, Monitor]:
    x = as_float_array(x0, "x0", ndim=1, size=problem.dim)
    met = Metric(metric, x)
    mon = Monitor(problem, max_iter=max_iter, record_every=record_every, gtol=gtol, ftol=ftol, callback=callback,
                  extra=_STEP_FIELDS)
    return x, met, mon


def gns(problem: Any, x0: Any, *, hessian: Any = "exact", metric: Any = None, gamma0: float = 1.0,
        max_trials: int = 40, max_iter: int = 1000, gtol: float | None = 1e-10, ftol: float | None = None,
        gamma_min: float = 1e-9, gamma_max: float = 1e20, eps: float = 1e-8, restart: bool = False,
        record_every: int = 1, callback: Callable[[Result], Any] | None = None) -> Result:
    """Gradient-regularized Newton with the adaptive gamma search (GNS, Algorithm 1).

    Reference: Semenov, Jaggi & Doikov (ICLR 2026), Algorithm 1. At ``x_k`` with ``g_k`` and the
    Hessian approximation ``H_k`` (computed once per iteration), trials
    ``lam = ||g_k||_* / (gamma + eps)``, ``x+ = x_k - (H_k + lam B)^{-1} g_k`` are accepted
    when ``f(x_k) - f(x+) >= ||grad f(x+)||_*^2 / (8 lam)`` (Lemma 1, with a rounding
    allowance of ``1e3 eps_mach |f(x_k)|``), after which ``gamma`` doubles; a rejected
    trial (or a failed factorization, or a non-finite ``f(x+)``) halves ``gamma``.

    Parameters
    ----------
    problem : Problem
        Provides ``value_and_grad`` and what ``hessian`` asks for.
    x0 : array, shape (problem.dim,)
        Starting point.
    hessian : str or callable
        The Hessian approximation (see the module docstring).
    metric : array, shape (d, d), optional
        SPD metric ``B`` for the norms and the regularizer (identity when omitted).
    gamma0, max_trials, gamma_min, gamma_max, eps : float, int
        The search: initial radius, trials per iteration, floor and cap of gamma, and
        the ``eps`` of ``lam``.
    restart : bool
        Start every iteration's search from ``gamma0`` instead of the doubled last radius
        (an ablation: it loses the ``2K + log2(gamma0 / min gamma)`` bound on the trials).
    max_iter, gtol, ftol, record_every, callback
        As in :func:`optlab.firstorder.gradient_descent`; ``gtol`` applies to ``||g||_*``.

    Returns
    -------
    Result
        The trace adds, for the step that produced each recorded iterate: ``gamma`` (the
        accepted radius), ``lam``, ``trials``, ``step`` (``||x_k - x_{k-1}||`` in ``B``),
        ``decrease`` (``f(x_{k-1}) - f(x_k)``), ``lemma_rhs``
        (``gamma/8 ||g_k||_*^2 / ||g_{k-1}||_*``), and the cumulative ``solves``.
    """
    gam = as_positive_float(gamma0, "gamma0")
    if int(max_trials) != max_trials or max_trials < 1:
        raise ValueError(f"max_trials must be a positive integer, got {max_trials!r}")
    x, met, mon = _setup(problem, x0, metric, max_iter, record_every, gtol, ftol, callback)
    H_of = _hessian_oracle(problem, hessian)
    fx, g = problem.value_and_grad(x)
    mon.count(nfev=1, njev=1)
    last = dict.fromkeys(_STEP_FIELDS, math.nan)
    solves, k, reason = 0, 0, None
    gn = met.dual_norm(g)
    while True:
        if _checkpoint(mon, k, x, fx, gn, last | {"solves": solves}):
            break
        H = H_of(x, g)
        mon.count(nhev=1)
        accepted = False
        for trial in range(1, int(max_trials) + 1):  # noqa: B007 (trial is recorded after the loop)
            lam = gn / (gam + eps)
            d = regularized_solve(H, lam, g, met)
            solves += 1
            if d is not None:
                x_new = x + d
                f_new, g_new = problem.value_and_grad(x_new)
                mon.count(nfev=1, njev=1)
                f_new = float(f_new)
                if math.isfinite(f_new):
                    gn_new = met.dual_norm(g_new)
                    if float(fx) - f_new >= gn_new**2 / (8.0 * lam) - 1e3 * _EPS * abs(float(fx)):
                        accepted = True
                        break
            gam = gam / 2.0
        if not accepted:
            reason = Status.SEARCH_FAILED
            if not mon.due(k):  # the last iterate is always in the trace
                mon.record(k, x, fx, grad_norm=gn, **(last | {"solves": solves}))
            break
        last = {"gamma": gam, "lam": lam, "trials": trial, "step": met.norm(d), "decrease": float(fx) - f_new,
                "lemma_rhs": gam / 8.0 * gn_new**2 / gn}
        gam = gamma0 if restart else min(max(2.0 * gam, gamma_min), gamma_max)
        x, fx, g, gn = x_new, f_new, g_new, gn_new  # the dual norm of g_new is the trial's, not recomputed
        k += 1
    return mon.result(x, nit=k, reason=reason)


def reg_newton(problem: Any, x0: Any, *, H: float | None = None, hessian: Any = "exact", metric: Any = None,
               max_iter: int = 1000, gtol: float | None = 1e-10, ftol: float | None = None, record_every: int = 1,
               callback: Callable[[Result], Any] | None = None) -> Result:
    """Fixed gradient-regularized Newton (RegN): ``lam_k = sqrt(H ||g_k||_*)``.

    Reference: Mishchenko (arXiv:2112.02089), Algorithm 1, and Doikov & Nesterov (2023):
    ``x_{k+1} = x_k - (H_k + lam_k B)^{-1} g_k``; with ``H = L2 / 2`` and a convex f with
    an ``L2``-Lipschitz Hessian, ``f(x_k) - f* = O(L2 D^3 / k^2)``.

    Parameters
    ----------
    problem : Problem
        Provides ``value_and_grad`` and what ``hessian`` asks for.
    x0 : array, shape (problem.dim,)
        Starting point.
    H : float, optional
        The regularization constant; ``problem.constants["L2"] / 2`` by default.
    hessian, metric, max_iter, gtol, ftol, record_every, callback
        As in :func:`gns`.

    Returns
    -------
    Result
        A failed factorization ends the run with status ``diverged``.
    """
    if H is None:
        L2 = getattr(problem, "constants", {}).get("L2")
        if L2 is None:
            raise ValueError("H is required: the problem states no Hessian-Lipschitz constant L2")
        H = L2 / 2.0
    try:
        Hc = float(H)
    except (TypeError, ValueError):
        raise TypeError(f"H must be a non-negative number, got {H!r}") from None
    if not (math.isfinite(Hc) and Hc >= 0):  # H = 0 is pure Newton (a quadratic has L2 = 0)
        raise ValueError(f"H must be non-negative and finite, got {H!r}")
    x, met, mon = _setup(problem, x0, metric, max_iter, record_every, gtol, ftol, callback)
    H_of = _hessian_oracle(problem, hessian)
    k, reason, solves = 0, None, 0
    last = dict.fromkeys(_STEP_FIELDS, math.nan)
    while True:
        fx, g = problem.value_and_grad(x)
        mon.count(nfev=1, njev=1)
        gn = met.dual_norm(g)
        if _checkpoint(mon, k, x, fx, gn, last | {"solves": solves}):
            break
        lam = math.sqrt(Hc * gn)
        d = regularized_solve(H_of(x, g), lam, g, met)
        mon.count(nhev=1)
        solves += 1
        if d is None:
            reason = Status.DIVERGED
            break
        last = {"lam": lam, "step": met.norm(d), "trials": 1.0}
        x = x + d
        k += 1
    return mon.result(x, nit=k, reason=reason)


def adan(problem: Any, x0: Any, *, H0: float = 1.0, hessian: Any = "exact", metric: Any = None,
         max_trials: int = 60, max_iter: int = 1000, gtol: float | None = 1e-10, ftol: float | None = None,
         record_every: int = 1, callback: Callable[[Result], Any] | None = None) -> Result:
    """AdaN, regularized Newton with Mishchenko's line search on ``H``.

    Reference: Mishchenko (arXiv:2112.02089), Algorithm 2: ``H <- H/2``; solve with
    ``lam = sqrt(H ||g||_*)``, ``r = ||x+ - x||``; accept iff ``||grad f(x+)||_* <= 2 lam r``
    and ``f(x+) <= f(x) - (2/3) lam r^2``, else ``H <- 2H``.

    Parameters
    ----------
    problem : Problem
        Provides ``value_and_grad`` and what ``hessian`` asks for.
    x0 : array, shape (problem.dim,)
        Starting point.
    H0 : float
        Initial ``H``.
    hessian, metric, max_trials, max_iter, gtol, ftol, record_every, callback
        As in :func:`gns`.

    Returns
    -------
    Result
        ``status = "search_failed"`` when a step exhausts ``max_trials``.
    """
    Hc = as_positive_float(H0, "H0")
    x, met, mon = _setup(problem, x0, metric, max_iter, record_every, gtol, ftol, callback)
    H_of = _hessian_oracle(problem, hessian)
    fx, g = problem.value_and_grad(x)
    mon.count(nfev=1, njev=1)
    k, reason, solves = 0, None, 0
    last = dict.fromkeys(_STEP_FIELDS, math.nan)
    while True:
        gn = met.dual_norm(g)
        if _checkpoint(mon, k, x, fx, gn, last | {"solves": solves}):
            break
        Hk = H_of(x, g)
        mon.count(nhev=1)
        Hc /= 2.0
        for trial in range(1, int(max_trials) + 1):  # noqa: B007 (trial is recorded after the loop)
            lam = math.sqrt(Hc * gn)
            d = regularized_solve(Hk, lam, g, met)
            solves += 1
            if d is not None:
                x_new = x + d
                f_new, g_new = problem.value_and_grad(x_new)
                mon.count(nfev=1, njev=1)
                r = met.norm(d)
                if (math.isfinite(float(f_new)) and met.dual_norm(g_new) <= 2.0 * lam * r
                        and float(f_new) <= float(fx) - (2.0 / 3.0) * lam * r * r + 1e3 * _EPS * abs(float(fx))):
                    break
            Hc *= 2.0
        else:
            reason = Status.SEARCH_FAILED
            break
        last = {"lam": lam, "step": r, "trials": trial, "decrease": float(fx) - float(f_new)}
        x, fx, g = x_new, f_new, g_new
        k += 1
    return mon.result(x, nit=k, reason=reason)


def newton(problem: Any, x0: Any, *, max_iter: int = 100, gtol: float | None = 1e-10, ftol: float | None = None,
           record_every: int = 1, callback: Callable[[Result], Any] | None = None) -> Result:
    """Pure Newton's method ``x_{k+1} = x_k - H(x_k)^{-1} g_k`` (no regularization, no search).

    Reference: Nesterov, *Lectures on Convex Optimization* (2018), Section 1.2.4. It is the
    baseline that shows where regularization matters: on ``sqrt(1 + x^2)`` from
    ``|x0| > 1`` it diverges (``x -> -x^3``), ending with status ``diverged``.

    Parameters
    ----------
    problem : Problem
        Provides ``value_and_grad`` and ``hess``.
    x0 : array, shape (problem.dim,)
        Starting point.
    max_iter, gtol, ftol, record_every, callback
        As in :func:`gns`.

    Returns
    -------
    Result
        Status ``diverged`` when an iterate or the solve is not finite.
    """
    x = as_float_array(x0, "x0", ndim=1, size=problem.dim)
    xp = namespace(x)
    mon = Monitor(problem, max_iter=max_iter, record_every=record_every, gtol=gtol, ftol=ftol, callback=callback)
    k = 0
    with np.errstate(all="ignore"):
        while True:
            fx, g = problem.value_and_grad(x)
            mon.count(nfev=1, njev=1)
            if mon.due(k) and mon.record(k, x, fx, g):
                break
            d = xp.linalg.solve(problem.hess(x), -g)
            mon.count(nhev=1)
            x = x + d
            k += 1
            if not bool(xp.all(xp.isfinite(x))):
                mon.record(k, x, math.inf, grad_norm=math.inf)
                break
    return mon.result(x, nit=k)


def gradient_method(problem: Any, x0: Any, *, metric: Any = None, L0: float = 1.0, L_min: float = 1e-5,
                    max_trials: int = 60, max_iter: int = 10_000, gtol: float | None = 1e-10,
                    ftol: float | None = None, record_every: int = 1,
                    callback: Callable[[Result], Any] | None = None) -> Result:
    """Gradient method in the metric ``B`` with a backtracking estimate of ``L``.

    Reference: Nesterov (2018), Section 2.1.5, in the authors' form (Semenov et al., ICLR 2026, code):
    ``x+ = x - B^{-1} g / L``, accepted when ``f(x+) <= f(x) + <g, x+ - x> + L/2 ||x+ - x||^2``,
    after which ``L <- max(L/2, L_min)``; else ``L <- 2L``. With ``B = A^T A`` this is the
    authors' "Gauss-Newton" baseline; with ``B = I`` plain adaptive gradient descent.

    Parameters
    ----------
    problem : Problem
        Provides ``value_and_grad``.
    x0 : array, shape (problem.dim,)
        Starting point.
    metric : array, optional
        SPD metric ``B``.
    L0, L_min, max_trials : float, float, int
        Initial estimate, floor and the trials per step of the backtracking.
    max_iter, gtol, ftol, record_every, callback
        As in :func:`gns`.

    Returns
    -------
    Result
        ``lam`` in the trace holds the accepted ``L``.
    """
    L = as_positive_float(L0, "L0")
    x, met, mon = _setup(problem, x0, metric, max_iter, record_every, gtol, ftol, callback)
    fx, g = problem.value_and_grad(x)
    mon.count(nfev=1, njev=1)
    k, reason = 0, None
    last = dict.fromkeys(_STEP_FIELDS, math.nan)
    while True:
        gn = met.dual_norm(g)
        if mon.due(k) and mon.record(k, x, fx, grad_norm=gn, **last):
            break
        Bg = met.inv_apply(g)
        for trial in range(1, int(max_trials) + 1):  # noqa: B007 (trial is recorded after the loop)
            x_new = x - Bg / L
            f_new, g_new = problem.value_and_grad(x_new)
            mon.count(nfev=1, njev=1)
            h = x_new - x
            model = float(fx) + float(g @ h) + L / 2.0 * met.norm(h) ** 2
            if math.isfinite(float(f_new)) and float(f_new) <= model + 1e3 * _EPS * abs(float(fx)):
                break
            L *= 2.0
        else:
            reason = Status.SEARCH_FAILED
            break
        last = {"lam": L, "trials": trial, "step": met.norm(h), "decrease": float(fx) - float(f_new)}
        L = max(L / 2.0, L_min)
        x, fx, g = x_new, f_new, g_new
        k += 1
    return mon.result(x, nit=k, reason=reason)
