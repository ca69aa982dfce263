"""First-order calibration methods: gradient descent and Nesterov's accelerated gradient.

These are the textbook methods whose rates the calibration claims (``calib.*``) check,
so that the claim machinery is proven on known theory before it is trusted on papers.
Both are plain functions ``method(problem, x0, *, options) -> Result`` written with
array-API calls only: NumPy in, NumPy out; CuPy in, CuPy out.

Oracle counts (``nfev``, ``njev``) are the calls the algorithm itself needs; the
values recorded only for the trace (the objective and gradient norm at recorded
iterates) are measurements and are not counted, so counts do not depend on
``record_every``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from optlab.backend import as_float_array, as_positive_float
from optlab.result import Monitor, Result

__all__ = ["accelerated_gradient", "gradient_descent"]


def _default_step(problem: Any, step: float | None) -> float:
    if step is not None:
        return as_positive_float(step, "step")
    L = getattr(problem, "constants", {}).get("L")
    if L is None:
        raise ValueError("step is required: the problem states no smoothness constant L")
    return 1.0 / as_positive_float(L, "problem.constants['L']")


def gradient_descent(problem: Any, x0: Any, *, step: float | None = None, max_iter: int = 1000,
                     gtol: float | None = 1e-10, ftol: float | None = None, record_every: int = 1,
                     callback: Callable[[Result], Any] | None = None) -> Result:
    """Gradient descent with a constant step, ``x_{k+1} = x_k - step * grad f(x_k)``.

    Reference: Nesterov, *Lectures on Convex Optimization* (2018), Section 2.1.5:
    with ``step = 1/L`` on an L-smooth convex function,
    ``f(x_k) - f* <= L ||x_0 - x*||^2 / (2k)`` (Corollary 2.1.2), and on an
    L-smooth mu-strongly convex one ``f(x_k) - f* <= (1 - mu/L)^k (f(x_0) - f*)``.

    Parameters
    ----------
    problem : Problem
        Provides ``grad`` and ``f`` (and ``constants["L"]`` when ``step`` is omitted).
    x0 : array, shape (problem.dim,)
        Starting point; its namespace and dtype are kept throughout.
    step : float, optional
        Step size; ``1 / problem.constants["L"]`` by default.
    max_iter : int
        Iteration budget.
    gtol, ftol : float or None
        Stop when ``||grad f|| <= gtol`` or ``f - f* <= ftol`` (at recorded iterations).
    record_every : int
        Trace (and stopping test, and GPU synchronization) every this many iterations.
    callback : callable, optional
        ``callback(intermediate_result)``; raise ``StopIteration`` to stop.

    Returns
    -------
    Result
        With ``trace`` fields ``iteration, fun, gap, grad_norm, dist, nfev, njev, nhev, time``.
    """
    x = as_float_array(x0, "x0", ndim=1, size=problem.dim)
    h = _default_step(problem, step)
    mon = Monitor(problem, max_iter=max_iter, record_every=record_every, gtol=gtol, ftol=ftol,
                  callback=callback)
    k = 0
    with np.errstate(over="ignore", invalid="ignore"):
        while True:
            g = problem.grad(x)
            mon.count(njev=1)
            if mon.due(k) and mon.record(k, x, problem.f(x), g):
                break
            x = x - h * g
            k += 1
    return mon.result(x, nit=k, step=h)


def accelerated_gradient(problem: Any, x0: Any, *, step: float | None = None, mu: float | None = None,
                         max_iter: int = 1000, gtol: float | None = 1e-10, ftol: float | None = None,
                         record_every: int = 1, callback: Callable[[Result], Any] | None = None) -> Result:
    """Nesterov's accelerated gradient method (FISTA form without a prox).

    Reference: Nesterov (1983); Beck & Teboulle, SIAM J. Imaging Sci. 2(1), 2009,
    Theorem 4.4: with ``step = 1/L``, ``y_0 = x_0``, ``t_0 = 1``::

        x_{k+1} = y_k - step * grad f(y_k)
        t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2
        y_{k+1} = x_{k+1} + (t_k - 1) / t_{k+1} * (x_{k+1} - x_k)

    gives ``f(x_k) - f* <= 2 L ||x_0 - x*||^2 / (k + 1)^2``. With ``mu > 0`` the
    constant momentum ``(1 - sqrt(mu step)) / (1 + sqrt(mu step))`` of the strongly
    convex variant is used instead (Nesterov 2018, scheme 2.2.22).

    Parameters
    ----------
    problem : Problem
        Provides ``grad`` and ``f`` (and ``constants["L"]`` when ``step`` is omitted).
    x0 : array, shape (problem.dim,)
        Starting point.
    step : float, optional
        Step size, ``1/L`` by default.
    mu : float, optional
        Strong convexity constant for the constant-momentum variant.
    max_iter, gtol, ftol, record_every, callback
        As in :func:`gradient_descent`.

    Returns
    -------
    Result
        The trace is recorded at the iterates ``x_k`` (not the extrapolated ``y_k``).
    """
    x = as_float_array(x0, "x0", ndim=1, size=problem.dim)
    h = _default_step(problem, step)
    beta_const = None
    if mu is not None:
        m = as_positive_float(mu, "mu")
        q = math.sqrt(min(m * h, 1.0))
        beta_const = (1.0 - q) / (1.0 + q)
    mon = Monitor(problem, max_iter=max_iter, record_every=record_every, gtol=gtol, ftol=ftol,
                  callback=callback)
    y, t, k = x, 1.0, 0
    with np.errstate(over="ignore", invalid="ignore"):
        while True:
            if mon.due(k):
                fx, gx = problem.value_and_grad(x)  # measurement at x_k, not counted
                if mon.record(k, x, fx, gx):
                    break
            g = problem.grad(y)
            mon.count(njev=1)
            x_next = y - h * g
            t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
            beta = beta_const if beta_const is not None else (t - 1.0) / t_next
            y = x_next + beta * (x_next - x)
            x, t = x_next, t_next
            k += 1
    return mon.result(x, nit=k, step=h)

