"""Baselines of BO-REP's experiments: StocBiO, SOBA, MA-SOBA and TTSA (spec section 7).

- StocBiO: Ji, Yang, Liang, "Bilevel Optimization: Convergence Analysis and Enhanced Design", ICML 2021.
- SOBA: Dagreou, Ablin, Vaiter, Moreau, "A framework for bilevel optimization that enables stochastic
  and global variance reduction algorithms", NeurIPS 2022.
- MA-SOBA: Chen, Xu, Zhang, "Optimal Algorithms for Stochastic Bilevel Optimization under Relaxed
  Smoothness Conditions", 2023 (SOBA with a moving average of the hypergradient).
- TTSA: Hong, Wai, Wang, Yang, "A Two-Timescale Stochastic Algorithm Framework for Bilevel
  Optimization", SIAM J. Optim. 2023.

All share BO-REP's oracle bookkeeping (:mod:`optlab.bilevel._oracles`): counts by kind, one random
stream per oracle, the same trace fields, status ``diverged`` on a non-finite value.
"""

from __future__ import annotations

import math
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
    positive_int,
    step,
)
from optlab.result import Result, Status

__all__ = ["ma_soba", "soba", "stocbio", "ttsa"]


def _setup(problem: Any, x0: Any, y0: Any, max_iter: Any, seed: Any, use_numba: Any, record_every: int,
           callback: Any, track_every_iter: bool):
    check_problem(problem)
    x, y = check_x0(problem, x0, y0)
    max_iter = positive_int(max_iter, "max_iter")
    orc = Oracles(problem, seed, x, use_numba)
    tracker = Tracker(problem, track_every_iter)
    mon = make_monitor(problem, max_iter, record_every, callback, None)
    return x, y, namespace(x), orc, tracker, mon


def _loop(x: Any, y: Any, z: Any, xp: Any, orc: Oracles, tracker: Tracker, mon: Any,
          body: Callable[[int, Any, Any, Any], tuple[Any, Any, Any]]) -> Result:
    """Run ``x, y, z = body(t, x, y, z)`` for t = 1, 2, ... with the shared recording and stopping."""
    if tracker.every_iter:
        tracker.grad_norm(x)
    stop = tracker.record(mon, 0, x, y, z, orc)
    reason = None
    t = 0
    with np.errstate(all="ignore"):
        while not stop:
            t += 1
            x, y, z = body(t, x, y, z)
            hit = False
            if tracker.every_iter and not math.isfinite(tracker.grad_norm(x)):
                reason, hit = Status.DIVERGED, True
            if hit or mon.due(t):
                stop = tracker.record(mon, t, x, y, z, orc) or hit
                if not stop and not finite(xp, x, y, z):
                    reason, stop = Status.DIVERGED, True
    return finish(mon, orc, x, y, z, t, reason=reason)


def _lg1(problem: Any, value: float | None, default: float) -> float:
    c = problem.constants
    return value if value is not None else (1.0 / c["l_g1"] if "l_g1" in c else default)


def stocbio(problem: Any, x0: Any, *, lr: float = 1e-2, inner_steps: int = 5, alpha: float | None = None,
            neumann_q: int = 10, neumann_c: float | None = None, max_iter: int = 1000, y0: Any = None,
            seed: Any = 0, record_every: int = 1, track_every_iter: bool = False,
            callback: Callable[[Result], Any] | None = None, use_numba: bool | None = None) -> Result:
    """StocBiO (Ji, Yang, Liang 2021) with the Neumann estimator including its ``q = 0`` term.

    Per iteration: ``inner_steps`` warm-started SGD steps ``y <- y - alpha grad_y G`` (``alpha``
    default ``1/l_g1``); ``v = (1/C) sum_{q=0..Q} prod_{j<=q} (I - H_j / C) grad_y F`` (``Q =
    neumann_q`` HVPs, ``C = neumann_c``, default ``l_g1``); ``x <- x - lr (grad_x F - JVP_xy[v])``.
    The trace's ``z_err`` compares ``v`` with ``z*``. Returns a :class:`~optlab.result.Result` as
    :func:`optlab.bilevel.bo_rep` does.
    """
    x, y, xp, orc, tracker, mon = _setup(problem, x0, y0, max_iter, seed, use_numba, record_every, callback,
                                         track_every_iter)
    lr = step(lr, "lr")
    alpha = step(_lg1(problem, alpha, 1e-2), "alpha")
    inner = positive_int(inner_steps, "inner_steps", allow_zero=True)
    q = positive_int(neumann_q, "neumann_q", allow_zero=True)
    c = step(problem.constants.get("l_g1", 1.0) if neumann_c is None else neumann_c, "neumann_c")

    def body(t, x, y, z):
        y = orc.lower_sgd(x, y, inner, alpha)
        gx, gy = orc.grad_F(x, y)
        v = orc.neumann(x, y, gy, q, c)
        return x - lr * (gx - orc.jvp(x, y, v)), y, v

    return _loop(x, y, None, xp, orc, tracker, mon, body)


def _soba(problem: Any, x0: Any, *, lr: float, gamma: float | None, nu: float, theta: float | None,
          radius: float, max_iter: int, y0: Any, seed: Any, record_every: int, track_every_iter: bool,
          callback: Any, use_numba: Any) -> Result:
    x, y, xp, orc, tracker, mon = _setup(problem, x0, y0, max_iter, seed, use_numba, record_every, callback,
                                         track_every_iter)
    lr, nu = step(lr, "lr"), step(nu, "nu")
    gamma = step(_lg1(problem, gamma, 1e-2), "gamma")
    if theta is not None and not 0 < theta <= 1:
        raise ValueError(f"theta must be in (0, 1], got {theta!r}")
    if not (radius > 0):
        raise ValueError(f"radius must be positive (inf: no projection), got {radius!r}")
    state = {"h": xp.zeros_like(x)}

    def body(t, x, y, z):
        d_y = orc.grad_yG(x, y)
        gx, gy = orc.grad_F(x, y)
        d_z = orc.hvp(x, y, z) - gy
        d_x = gx - orc.jvp(x, y, z)
        y = y - gamma * d_y
        z = z - nu * d_z
        if not math.isinf(radius):
            n = float(xp.linalg.vector_norm(z))
            z = z * (radius / n) if n > radius else z
        if theta is None:
            return x - lr * d_x, y, z
        state["h"] = (1.0 - theta) * state["h"] + theta * d_x
        return x - lr * state["h"], y, z

    return _loop(x, y, xp.zeros(problem.dy, dtype=x.dtype, device=x.device), xp, orc, tracker, mon, body)


def soba(problem: Any, x0: Any, *, lr: float = 1e-2, gamma: float | None = None, nu: float = 1e-2,
         radius: float = math.inf, max_iter: int = 1000, y0: Any = None, seed: Any = 0, record_every: int = 1,
         track_every_iter: bool = False, callback: Callable[[Result], Any] | None = None,
         use_numba: bool | None = None) -> Result:
    """SOBA (Dagreou et al. 2022): one joint step of ``y``, ``z`` and ``x``, every oracle at ``(x_t, y_t, z_t)``.

    ``D_y = grad_y G``, ``D_z = HVP[z] - grad_y F``, ``D_x = grad_x F - JVP_xy[z]``;
    ``y <- y - gamma D_y`` (``gamma`` default ``1/l_g1``), ``z <- Proj_R(z - nu D_z)``, ``x <- x - lr D_x``.
    """
    return _soba(problem, x0, lr=lr, gamma=gamma, nu=nu, theta=None, radius=radius, max_iter=max_iter, y0=y0,
                 seed=seed, record_every=record_every, track_every_iter=track_every_iter, callback=callback,
                 use_numba=use_numba)


def ma_soba(problem: Any, x0: Any, *, lr: float = 1e-2, theta: float = 0.1, gamma: float | None = None,
            nu: float = 1e-2, radius: float = math.inf, max_iter: int = 1000, y0: Any = None, seed: Any = 0,
            record_every: int = 1, track_every_iter: bool = False, callback: Callable[[Result], Any] | None = None,
            use_numba: bool | None = None) -> Result:
    """MA-SOBA (Chen, Xu, Zhang 2023): SOBA with ``h <- (1 - theta) h + theta D_x`` (``h_0 = 0``), ``x <- x - lr h``."""
    return _soba(problem, x0, lr=lr, gamma=gamma, nu=nu, theta=theta, radius=radius, max_iter=max_iter, y0=y0,
                 seed=seed, record_every=record_every, track_every_iter=track_every_iter, callback=callback,
                 use_numba=use_numba)


def ttsa(problem: Any, x0: Any, *, alpha: float = 1e-2, beta: float | None = None, neumann_q: int = 10,
         neumann_c: float | None = None, max_iter: int = 1000, y0: Any = None, seed: Any = 0,
         record_every: int = 1, track_every_iter: bool = False, callback: Callable[[Result], Any] | None = None,
         use_numba: bool | None = None) -> Result:
    """TTSA (Hong et al. 2023): single loop, ``y`` step ``beta t^(-2/5)``, ``x`` step ``alpha t^(-3/5)``.

    The hypergradient uses the randomized Neumann estimator ``(Q/C) prod_{j=1..q} (I - H_j/C) grad_y F``
    with ``q ~ U{0, ..., Q-1}`` drawn from the HVP stream (``q`` HVP calls). ``beta`` defaults to ``1/l_g1``.
    """
    x, y, xp, orc, tracker, mon = _setup(problem, x0, y0, max_iter, seed, use_numba, record_every, callback,
                                         track_every_iter)
    alpha = step(alpha, "alpha")
    beta = step(_lg1(problem, beta, 1e-2), "beta")
    q_max = positive_int(neumann_q, "neumann_q")
    c = step(problem.constants.get("l_g1", 1.0) if neumann_c is None else neumann_c, "neumann_c")

    def body(t, x, y, z):
        y = y - beta * t ** (-0.4) * orc.grad_yG(x, y)
        gx, gy = orc.grad_F(x, y)
        v = gy
        for _ in range(int(orc.rng["hvp"].integers(q_max))):
            v = v - orc.hvp(x, y, v) / c
        v = (q_max / c) * v
        return x - alpha * t ** (-0.6) * (gx - orc.jvp(x, y, v)), y, v

    return _loop(x, y, None, xp, orc, tracker, mon, body)

