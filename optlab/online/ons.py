"""Exp-concave learners on the simplex: online Newton step and its optimistic (ONS-type OMD) version.

Both project in the norm of a positive definite matrix onto the simplex,
``Pi^U(y) = argmin_{x in simplex} (x - y)^T U (x - y)``, a small quadratic program solved exactly by a primal
active-set method (:func:`metric_projection_simplex`, Nocedal and Wright, Algorithm 16.3). They run on the host
in NumPy (the inner solves are d x d with d of a few tens) and return ``x`` in the namespace of ``x0``; there
is no fused kernel for them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from optlab.backend import as_positive_float, to_numpy
from optlab.online._generic import FIELDS
from optlab.online.methods import _check_problem, _constant, _result, _start, record_rounds
from optlab.result import Result

__all__ = ["metric_projection_simplex", "ons", "optimistic_ons"]


def metric_projection_simplex(U: np.ndarray, y: np.ndarray, x_start: np.ndarray | None = None, *,
                              tol: float = 1e-12) -> np.ndarray:
    """``argmin_{x >= 0, sum x = 1} (x - y)^T U (x - y)`` for symmetric positive definite ``U``, exactly.

    Primal active-set method from the feasible ``x_start`` (default: the uniform point): each step solves the
    equality-constrained problem on the free coordinates, moves to it or to the first blocking bound, and
    releases the bound with the most negative multiplier at a stationary point. Finite for a positive definite
    ``U``; ``RuntimeError`` if it ever exceeds ``50 d`` steps.
    """
    U = np.asarray(U, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    d = y.shape[0]
    x = np.full(d, 1.0 / d) if x_start is None else np.maximum(np.asarray(x_start, dtype=np.float64), 0.0)
    x = x / x.sum()
    Uy = U @ y
    active = x <= 0.0
    for _ in range(50 * d):
        free = ~active
        F = np.flatnonzero(free)
        UFF = U[np.ix_(F, F)]
        a = np.linalg.solve(UFF, Uy[F])
        b = np.linalg.solve(UFF, np.ones(len(F)))
        nu = (a.sum() - 1.0) / b.sum()
        target = a - nu * b
        p = target - x[F]
        if np.all(target >= -tol):
            x[F] = np.maximum(target, 0.0)
            x[active] = 0.0
            lam = U @ (x - y) + nu
            lam_active = np.where(active, lam, np.inf)
            i = int(np.argmin(lam_active))
            if lam_active[i] >= -tol * max(1.0, float(np.abs(lam).max())):
                return x / x.sum()
            active[i] = False
            continue
        neg = p < 0
        ratios = np.where(neg, x[F] / np.where(neg, -p, 1.0), np.inf)
        k = int(np.argmin(ratios))
        alpha = min(1.0, float(ratios[k]))
        x[F] = x[F] + alpha * p
        x[F[k]] = 0.0
        active[F[k]] = True
        x = np.maximum(x, 0.0)
    raise RuntimeError("metric_projection_simplex did not finish in 50 d active-set steps")


def _portfolio_loop(problem: Any, x0: Any, rec: np.ndarray, step_fn) -> tuple[np.ndarray, np.ndarray]:
    st = problem.stream
    r = st["returns"]
    log_ru = np.log(r @ problem.comparator)
    out = np.full((len(rec), len(FIELDS)), np.nan)
    acc = np.zeros(3)
    V = 0.0
    ri = 0
    state = step_fn(None, None, None)
    x = state["x"]
    for t in range(1, problem.T + 1):
        x = state["x"]
        rx = r @ x
        j = int(st["ret_idx"][t - 1])
        g = -r[j] / rx[j]
        loss = -math.log(rx[j])
        acc += (loss, log_ru[j] + loss, float(st["law"][st["law_idx"][t - 1]] @ (log_ru - np.log(rx))))
        V += float((g - state["M"]) @ (g - state["M"]))
        state = step_fn(state, g, t)
        if ri < len(rec) and rec[ri] == t:
            out[ri] = (*acc, math.nan, V, math.nan, float(np.linalg.norm(g)))
            ri += 1
    return x, out


def ons(problem: Any, x0: Any = None, *, gamma: float | None = None, eps: float | None = None, n_records: int = 100,
        record_every: int | None = None) -> Result:
    """Online Newton step on the simplex: ``A_t = eps I + sum_{s<=t} g_s g_s^T``,
    ``x_{t+1} = Pi^{A_t}(x_t - A_t^{-1} g_t / gamma)``.

    Reference
    ---------
    E. Hazan, A. Agarwal, S. Kale, "Logarithmic regret algorithms for online convex optimization", Machine
    Learning 69 (2007); spec ``optimistic_omd.md`` section 5.

    Parameters
    ----------
    problem : OnlineProblem
        A ``"portfolio"`` problem (simplex).
    x0 : array, optional
        ``x_1`` on the simplex (default: uniform); its namespace is kept for the returned ``x``.
    gamma : float, optional
        Default ``min(1/(4 G D), alpha) / 2``.
    eps : float, optional
        Default ``1/(gamma^2 D^2)``.
    n_records, record_every : int
        Recorded rounds.

    Returns
    -------
    Result
        ``x`` (last played point), ``trace`` as in :func:`optlab.online.optimistic_omd` (``V`` sums
        ``||g_t||^2``; ``eta`` and ``dynamic_regret`` NaN), ``gamma``, ``eps``.
    """
    _check_problem(problem, kinds=("portfolio",))
    x0 = _start(problem, x0)
    rec = record_rounds(problem.T, n_records=n_records, record_every=record_every)
    D, G = _constant(problem, "D", "ons"), _constant(problem, "G", "ons")
    alpha = _constant(problem, "alpha", "ons")
    gamma = 0.5 * min(1.0 / (4 * G * D), alpha) if gamma is None else as_positive_float(gamma, "gamma")
    eps = 1.0 / (gamma * D) ** 2 if eps is None else as_positive_float(eps, "eps")
    d = problem.dim

    def step(state, g, t):
        if state is None:
            return {"x": to_numpy(x0).astype(np.float64), "A": eps * np.eye(d), "M": np.zeros(d)}
        A = state["A"] + np.outer(g, g)
        y = state["x"] - np.linalg.solve(A, g) / gamma
        return {"x": metric_projection_simplex(A, y, state["x"]), "A": A, "M": state["M"]}

    x, out = _portfolio_loop(problem, x0, rec, step)
    return _result(problem, x, out, rec, x0, gamma=gamma, eps=eps)


def optimistic_ons(problem: Any, x0: Any = None, *, beta: float | None = None, eps: float | None = None,
                   optimism: bool = True, n_records: int = 100, record_every: int | None = None) -> Result:
    """Optimistic OMD with the ONS-type regularizer ``psi_t = ||x||^2_{U_t} / 2`` (the exp-concave case).

    ``U_t = eps I + (beta/2) sum_{s<t} g_s g_s^T``; ``x_t = Pi^{U_t}(xhat_t - U_t^{-1} M_t)``,
    ``xhat_{t+1} = Pi^{U_t}(xhat_t - U_t^{-1} g_t)``, ``M_t = g_{t-1}`` (both steps with ``U_t``, as in the spec's
    template ``B_{psi_t}``).

    Reference
    ---------
    Chen et al. 2023 (arXiv:2302.04552), exp-concave case; spec ``optimistic_omd.md`` section 2 (``beta`` and
    ``eps`` are [our choice] there).

    Parameters
    ----------
    problem : OnlineProblem
        A ``"portfolio"`` problem (simplex).
    x0 : array, optional
        ``xhat_1`` on the simplex (default: uniform).
    beta : float, optional
        Default ``min(1/(4 G D), alpha) / 2``.
    eps : float, optional
        Default ``1/(beta D^2)`` [our choice: the spec's ``eps = 1`` makes the first steps ``U^{-1} g`` of size
        ``|g|``, larger than the simplex, and the regret 3-10x that of ONS in our runs; ``1/(beta D^2)`` is the
        scale of ONS's own ``eps/gamma``].
    optimism : bool
        ``False`` sets ``M_t = 0`` (then ``x_t = xhat_t``).
    n_records, record_every : int
        Recorded rounds.

    Returns
    -------
    Result
        As in :func:`ons` (``V`` sums ``||g_t - M_t||^2``), with ``beta`` and ``eps``.
    """
    _check_problem(problem, kinds=("portfolio",))
    x0 = _start(problem, x0)
    rec = record_rounds(problem.T, n_records=n_records, record_every=record_every)
    D, G = _constant(problem, "D", "optimistic_ons"), _constant(problem, "G", "optimistic_ons")
    alpha = _constant(problem, "alpha", "optimistic_ons")
    beta = 0.5 * min(1.0 / (4 * G * D), alpha) if beta is None else as_positive_float(beta, "beta")
    eps = 1.0 / (beta * D * D) if eps is None else as_positive_float(eps, "eps")
    d = problem.dim

    def play(xhat, U, M):
        if not optimism or not np.any(M):
            return xhat
        return metric_projection_simplex(U, xhat - np.linalg.solve(U, M), xhat)

    def step(state, g, t):
        if state is None:
            xhat = to_numpy(x0).astype(np.float64)
            U = eps * np.eye(d)
            M = np.zeros(d)
            return {"xhat": xhat, "U": U, "M": M, "x": play(xhat, U, M)}
        U = state["U"]
        xhat = metric_projection_simplex(U, state["xhat"] - np.linalg.solve(U, g), state["xhat"])
        U = U + 0.5 * beta * np.outer(g, g)
        M = g if optimism else np.zeros(d)
        return {"xhat": xhat, "U": U, "M": M, "x": play(xhat, U, M)}

    x, out = _portfolio_loop(problem, x0, rec, step)
    return _result(problem, x, out, rec, x0, beta=beta, eps=eps, optimism=bool(optimism))
