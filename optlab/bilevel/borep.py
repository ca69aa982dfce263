"""BO-REP: Bilevel Optimization with lower-level initialization REfinement and Periodic updates.

Hao, Gong, Liu, "Bilevel Optimization under Unbounded Smoothness: A New Algorithm and
Convergence Analysis", ICLR 2024 (arXiv:2401.09587); spec ``shared/papers/bo_rep.md`` section 3.

Two ways to set the parameters:

- practical mode, :func:`bo_rep`: every parameter set by the user (the authors' scripts use
  ``eta = 1e-2..1e-1``, ``beta = 0.9``, ``nu = 1e-2``, ``period = 2..3``, ``n_lower = 3..10``);
- theory mode, :func:`bo_rep_theory`: the parameters of :func:`theory_parameters` for a target
  ``eps`` from the problem constants ``(L0, L1, mu, l_g1)`` and the noise levels.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from optlab.backend import namespace
from optlab.bilevel._oracles import (
    Oracles,
    Tracker,
    check_problem,
    check_x0,
    finish,
    finite,
    make_monitor,
    momentum,
    positive_int,
    step,
)
from optlab.result import Result, Status

__all__ = ["bo_rep", "bo_rep_theory", "theory_parameters"]

T_WARN = 10**7
_CHUNK = 4096
_POTENTIALS = ("quartic", "cosh")  # the menu of optlab.bilevel._kernels.POTENTIALS (imported lazily)


def theory_parameters(eps: float, *, L0: float, L1: float, mu: float, l_g1: float, sigma2_h: float,
                      sigma_g: float, r: float = math.inf, t_cap: float = 2e4) -> dict[str, Any]:
    """BO-REP's parameters for a target ``eps`` (spec section 3, "theory mode").

    ``1 - beta = min(1, 0.2 eps^2 / sigma2_h)``, ``eta = min(0.5 eps (1 - beta) / L0, r, (1 - beta) / L1)``,
    ``period I = ceil(0.5 eps / (kappa eta))`` (``kappa = l_g1 / mu``, so ``y*`` moves ``O(eps)`` per
    period), ``gamma = min(1 / l_g1, 0.002 eps^2 mu / sigma_g^2)``, ``N = ceil(3 / (gamma mu))``,
    ``nu = min(0.5 / l_g1, 0.5 eps^2)``, ``max_iter = t_cap eps^-4`` and a refinement of ``4 N`` SGD
    steps. ``sigma2_h`` is the variance of the hypergradient sample (``sigma_f^2 (dx + dy)``) and
    ``sigma_g^2`` the per-coordinate variance of ``grad_y G``.
    """
    eps = float(eps)
    if not 0.0 < eps <= 1.0:
        raise ValueError(f"eps must be in (0, 1] in theory mode, got {eps!r}")
    for name, v in (("L0", L0), ("mu", mu), ("l_g1", l_g1)):
        step(v, name)
    if L1 < 0 or sigma2_h < 0 or sigma_g < 0:
        raise ValueError("L1, sigma2_h and sigma_g must be non-negative")
    one_minus_beta = 1.0 if sigma2_h == 0 else min(1.0, 0.2 * eps**2 / sigma2_h)
    eta = min(0.5 * eps * one_minus_beta / L0, r, one_minus_beta / L1 if L1 > 0 else math.inf)
    kappa = l_g1 / mu
    gamma = 1.0 / l_g1 if sigma_g == 0 else min(1.0 / l_g1, 0.002 * eps**2 * mu / sigma_g**2)
    n_lower = math.ceil(3.0 / (gamma * mu))
    max_iter = math.ceil(t_cap * eps**-4)
    if max_iter > T_WARN:
        warnings.warn(f"theory mode at eps={eps:g} asks for {max_iter:.3g} iterations", RuntimeWarning, stacklevel=2)
    return {"eta": eta, "beta": 1.0 - one_minus_beta, "period": max(1, math.ceil(0.5 * eps / (kappa * eta))),
            "gamma": gamma, "n_lower": n_lower, "nu": min(0.5 / l_g1, 0.5 * eps**2), "max_iter": max_iter,
            "refine": "sgd", "refine_steps": 4 * n_lower}


def bo_rep_theory(problem: Any, x0: Any, eps: float, *, mu: float | None = None, l_g1: float | None = None,
                  sigma2_h: float | None = None, t_cap: float = 2e4, stop_at_eps: bool = True,
                  **overrides: Any) -> Result:
    """BO-REP in theory mode: :func:`theory_parameters` from ``eps`` and ``problem.constants``.

    ``mu`` and ``l_g1`` override the problem's (E1 uses the nominal 1 and 10, not the drawn
    eigenvalues); ``sigma2_h`` defaults to ``sigma_f^2 (dx + dy)``. With ``stop_at_eps`` the run
    stops at the first ``t`` with ``(1/(t+1)) sum_{s<=t} ||grad Phi(x_s)|| <= eps`` (status
    ``converged``; the cap is ``max_iter``). ``overrides`` replace any parameter (ablations:
    ``n_lower=0``, ``period=max_iter``) or pass options of :func:`bo_rep` (``seed``, ``record_every``...).
    """
    check_problem(problem)
    c = problem.constants
    sf, sg = float(c.get("sigma_f", 0.0)), float(c.get("sigma_g", 0.0))
    params = theory_parameters(
        eps, L0=c["L0"], L1=c.get("L1", 0.0), mu=c["mu"] if mu is None else mu,
        l_g1=c["l_g1"] if l_g1 is None else l_g1,
        sigma2_h=sf**2 * (problem.dx + problem.dy) if sigma2_h is None else sigma2_h, sigma_g=sg,
        r=c.get("r", math.inf), t_cap=t_cap)
    if "n_lower" in overrides and "refine_steps" not in overrides:
        overrides["refine_steps"] = 4 * overrides["n_lower"]
    params.update(overrides)
    if stop_at_eps:
        params.setdefault("avg_gtol", float(eps))
    return bo_rep(problem, x0, **params)


def _project(xp: Any, z: Any, radius: float) -> Any:
    if math.isinf(radius):
        return z
    n = float(xp.linalg.vector_norm(z))
    return z * (radius / n) if n > radius else z


def bo_rep(problem: Any, x0: Any, *, eta: float = 1e-2, beta: float = 0.9, nu: float = 1e-2,
           gamma: float | None = None, period: int = 2, n_lower: int = 5, max_iter: int = 1000,
           refine: str | None = "sgd", refine_steps: int | None = None, epochs: int = 5,
           radius: float = math.inf, hypergrad: str = "z", neumann_q: int = 10, neumann_c: float | None = None,
           normalize: bool = True, y0: Any = None, z0: Any = None, seed: Any = 0, avg_gtol: float | None = None,
           track_every_iter: bool | None = None, record_every: int = 1,
           callback: Callable[[Result], Any] | None = None, use_numba: bool | None = None) -> Result:
    """BO-REP (Hao, Gong, Liu, ICLR 2024, Algorithm 1 as reconstructed in the spec, section 3).

    Normalized momentum on ``x``; ``y`` refined once at ``x_0`` and updated by ``n_lower`` SGD steps
    every ``period`` iterations (warm start); the auxiliary ``z ~ [Hess_yy g]^{-1} grad_y f`` by one
    projected SGD step per iteration with an HVP (``hypergrad="z"``, SOBA-style), or the
    StocBiO Neumann estimator (``hypergrad="neumann"``, ``neumann_q`` HVPs, scale ``neumann_c``)::

        h_t = grad_x F(x_t, y; xi) - JVP_xy G(x_t, y; zeta1)[z]         (pre-update z)
        z   = Proj_R(z - nu (HVP_yy G(x_t, y; zeta2)[z] - grad_y F(x_t, y; xi)))
        m   = beta m + (1 - beta) h_t
        x   = x - eta m / max(||m||, 1e-12)

    Parameters
    ----------
    problem : BilevelProblem
        Provides the oracles (see :mod:`optlab.problems.bilevel`).
    x0 : array, shape (dx,)
        Upper-level start (any array-API namespace; the result is in the same one).
    eta, beta, nu : float
        Step length (exactly ``eta`` per step), momentum in ``[0, 1)``, z-step.
    gamma : float, optional
        Lower-level SGD step; default ``1 / l_g1`` from the problem's constants.
    period, n_lower : int
        ``I >= 1`` and ``N >= 0`` (``N = 0``: the lower level is never updated, an ablation).
    max_iter : int
        Iteration cap ``T``.
    refine : {"sgd", "epoch", None}
        Initialization refinement: ``refine_steps`` (default ``4 n_lower``) SGD steps at ``gamma``,
        EpochSGD (Hazan-Kale: ``epochs`` epochs of ``2^(e-1) T1`` steps at ``gamma1 / 2^(e-1)``,
        ``gamma1 = 1/l_g1``, ``T1 = ceil(10 / (gamma1 mu))``, each from the previous epoch's average),
        or None (the authors' code mode: the N-step update also runs at ``t = 0``).
    radius : float
        Ball radius ``R`` of ``z`` (``inf``: no projection).
    normalize : bool
        False replaces the normalized step by ``x - eta m`` (an ablation, not BO-REP).
    y0, z0 : array, optional
        Lower-level and auxiliary starts (zeros).
    seed : int or SeedSequence
        Seeds the four oracle streams.
    avg_gtol : float, optional
        Stop when the running mean of ``||grad Phi(x_s)||`` over all iterates so far is ``<= avg_gtol``.
    track_every_iter : bool, optional
        Measure ``||grad Phi(x_t)||`` at every iterate (default: when ``avg_gtol`` is set), so that
        the trace's ``avg_grad_norm`` is the mean over all iterates, not over the recorded ones.
    record_every : int
        Trace every this many iterations (and at the last).
    callback : callable, optional
        ``callback(intermediate_result)``; ``StopIteration`` stops the run.
    use_numba : bool, optional
        Force or forbid the Numba inner loops (default: when they apply).

    Returns
    -------
    Result
        ``x``, ``y``, ``z``, ``fun = Phi(x)``, ``njev`` (grad F + grad_y G calls), ``nhev`` (HVP + JVP),
        ``oracle_calls`` by kind, ``status`` (``converged`` iff ``avg_gtol`` was met; ``diverged`` on a
        non-finite value), and a trace with ``calls`` (total oracle calls), ``calls_<kind>``,
        ``grad_norm = ||grad Phi(x_t)||``, ``avg_grad_norm``, ``y_err = ||y - y*(x_t)||``,
        ``z_err = ||z - z*(x_t, y)||`` and ``z_err_ystar = ||z - z*(x_t, y*(x_t))||`` (closed-form
        problems only, else NaN).
    """
    check_problem(problem)
    x, y = check_x0(problem, x0, y0)
    xp = namespace(x)
    c = problem.constants
    eta, nu = step(eta, "eta"), step(nu, "nu")
    beta = momentum(beta, "beta")
    gamma = step(1.0 / c["l_g1"] if gamma is None and "l_g1" in c else (1e-2 if gamma is None else gamma), "gamma")
    period = positive_int(period, "period")
    n_lower = positive_int(n_lower, "n_lower", allow_zero=True)
    max_iter = positive_int(max_iter, "max_iter")
    if not (radius > 0):
        raise ValueError(f"radius must be positive (inf: no projection), got {radius!r}")
    if refine not in ("sgd", "epoch", None):
        raise ValueError(f"refine must be 'sgd', 'epoch' or None, got {refine!r}")
    if hypergrad not in ("z", "neumann"):
        raise ValueError(f"hypergrad must be 'z' or 'neumann', got {hypergrad!r}")
    if "l_g1" in c and gamma > 2.0 / c["l_g1"]:
        warnings.warn(f"gamma={gamma:g} > 2/l_g1={2 / c['l_g1']:g}: the lower-level SGD diverges", RuntimeWarning,
                      stacklevel=2)
    if avg_gtol is not None and not (avg_gtol > 0):
        raise ValueError(f"avg_gtol must be positive, got {avg_gtol!r}")
    if max_iter > T_WARN:
        warnings.warn(f"max_iter={max_iter:.3g} is very large", RuntimeWarning, stacklevel=2)
    orc = Oracles(problem, seed, x, use_numba)
    if hypergrad == "neumann":
        neumann_q = positive_int(neumann_q, "neumann_q", allow_zero=True)
        neumann_c = step(c["l_g1"] if neumann_c is None else neumann_c, "neumann_c")
    z = xp.zeros(problem.dy, dtype=x.dtype, device=x.device) if z0 is None else \
        xp.asarray(z0, dtype=x.dtype, device=x.device)
    if z0 is not None and tuple(z.shape) != (problem.dy,):
        raise ValueError(f"z0 must have shape ({problem.dy},), got {tuple(z.shape)}")
    z = _project(xp, z, radius)
    m = xp.zeros_like(x)

    # line 1: initialization refinement
    if refine == "sgd":
        steps = 4 * n_lower if refine_steps is None else positive_int(refine_steps, "refine_steps", allow_zero=True)
        y = orc.lower_sgd(x, y, steps, gamma)
    elif refine == "epoch":
        g1 = 1.0 / c["l_g1"] if "l_g1" in c else gamma
        t1 = math.ceil(10.0 / (g1 * c.get("mu", 1.0)))
        for e in range(positive_int(epochs, "epochs")):
            y = orc.lower_sgd(x, y, t1 * 2**e, g1 / 2**e, average=True)

    every = avg_gtol is not None if track_every_iter is None else bool(track_every_iter)
    tracker = Tracker(problem, every)
    mon = make_monitor(problem, max_iter, record_every, callback, avg_gtol)
    if every:
        tracker.grad_norm(x)
    stop = tracker.record(mon, 0, x, y, z, orc)
    sep = getattr(problem, "upper_separable", None)
    if orc.numba and hypergrad == "z" and sep is not None and sep.get("x") in _POTENTIALS:
        args = (eta, beta, nu, gamma, radius, normalize)
        return _fused(problem, orc, tracker, mon, x, y, z, m, stop, max_iter, period, n_lower, refine is None, args,
                      every, avg_gtol)
    reason = None
    t = 0
    with np.errstate(all="ignore"):
        while not stop:
            if n_lower and (t % period == 0) and (t >= 1 or refine is None):
                y = orc.lower_sgd(x, y, n_lower, gamma)
            gx, gy = orc.grad_F(x, y)
            if hypergrad == "z":
                h = gx - orc.jvp(x, y, z)
                z = _project(xp, z - nu * (orc.hvp(x, y, z) - gy), radius)
            else:
                z = orc.neumann(x, y, gy, neumann_q, neumann_c)
                h = gx - orc.jvp(x, y, z)
            m = beta * m + (1.0 - beta) * h
            if normalize:
                x = x - eta * m / xp.maximum(xp.linalg.vector_norm(m), xp.asarray(1e-12, dtype=x.dtype))
            else:
                x = x - eta * m
            t += 1
            hit = False
            if every:
                g = tracker.grad_norm(x)
                if not math.isfinite(g):
                    reason, hit = Status.DIVERGED, True
                elif avg_gtol is not None and tracker.mean <= avg_gtol:
                    hit = True
            if hit or mon.due(t):
                stop = tracker.record(mon, t, x, y, z, orc) or hit
                if not stop and not finite(xp, x, y, z):
                    reason, stop = Status.DIVERGED, True
    return finish(mon, orc, x, y, z, t, reason=reason)


def _n_updates(a: int, b: int, period: int, at_0: bool) -> int:
    """Iterations ``t`` in ``[a, b)`` with a periodic lower-level update."""
    n = (b - 1) // period - (a - 1) // period if b > a else 0
    return n - (1 if a == 0 and b > 0 and not at_0 else 0)


def _fused(problem: Any, orc: Oracles, tracker: Tracker, mon: Any, x: Any, y: Any, z: Any, m: Any, stop: bool,
           max_iter: int, period: int, n_lower: int, at_0: bool, args: tuple, every: bool,
           avg_gtol: float | None) -> Result:
    """The whole BO-REP loop in Numba between records (quadratic lower level, separable upper level):
    the same iterations and random numbers as the generic loop of :func:`bo_rep`, drawn per chunk."""
    from optlab.bilevel import _kernels

    sep, quad = problem.upper_separable, problem.lower_quadratic
    dt = x.dtype
    A, B = (np.ascontiguousarray(quad[k], dtype=dt) for k in ("A", "B"))
    M = np.ascontiguousarray(np.linalg.solve(quad["A"], quad["B"]), dtype=dt)
    c = np.ascontiguousarray(sep["c"], dtype=dt)
    Bt, Mt = np.ascontiguousarray(B.T), np.ascontiguousarray(M.T)
    kind = _kernels.POTENTIALS[sep["x"]]
    sf, sg, sh = float(sep["sigma_f"]), float(quad["sigma_g"]), float(quad["sigma_H"])
    x, y, z, m = (np.array(v, dtype=dt, copy=True) for v in (x, y, z, m))
    dx, dy = problem.dx, problem.dy
    rng = orc.rng

    def draw(kind_: str, shape: tuple[int, int], sigma: float) -> np.ndarray:
        return (rng[kind_].standard_normal(shape) if sigma > 0 else np.zeros(shape)).astype(dt, copy=False)

    t, reason = 0, None
    tol = -math.inf if avg_gtol is None else float(avg_gtol)  # -inf: never stop on the mean
    while not stop:
        # chunks of at most _CHUNK iterations: the noise of a chunk is drawn before it runs, and a run
        # that stops early must not pay for the draws of its whole remaining budget
        n = min(mon.record_every - t % mon.record_every, max_iter - t, _CHUNK)
        n_g = _n_updates(t, t + n, period, at_0) * n_lower
        done, tracker.sum, tracker.n, gn, flag = _kernels.borep_run(
            A, B, Bt, M, Mt, c, kind, x, y, z, m, t, n, period, n_lower, at_0, *args, sf, sg, sh,
            draw("grad_f", (n, dx + dy), sf), draw("jvp", (n, dx), sh), draw("hvp", (n, dy + 1), sh),
            draw("grad_g", (n_g, dy), sg), every, tol, tracker.sum, tracker.n)
        orc.counts["grad_g"] += _n_updates(t, t + done, period, at_0) * n_lower
        for k in ("grad_f", "jvp", "hvp"):
            orc.counts[k] += done
        t += done
        if every:
            tracker.last = gn
        if flag == 2:
            reason = Status.DIVERGED
        if flag > 0 or mon.due(t):
            stop = tracker.record(mon, t, x, y, z, orc) or flag > 0
        if not stop and not finite(np, x, y, z):
            if not mon.due(t):
                tracker.record(mon, t, x, y, z, orc)
            reason, stop = Status.DIVERGED, True
    return finish(mon, orc, x, y, z, t, reason=reason)
