"""A small damped Newton solver used once at construction to get ``x_star``/``f_star``
of the regularized families numerically. Not an optlab method: problems never import methods.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _newton_minimize(fun: Callable[[np.ndarray], float], grad: Callable[[np.ndarray], np.ndarray],
                     hess: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, *, gtol: float = 1e-14,
                     max_iter: int = 200) -> tuple[np.ndarray, float]:
    """Damped Newton with Armijo backtracking, for the construction-time solves.

    Stops at ``||grad|| <= gtol`` or when the gradient stops decreasing (rounding floor).
    Returns the iterate with the smallest gradient norm and that norm. Not an optlab
    method: problems never import methods.
    """
    x = np.array(x0, dtype=np.float64)
    fx = fun(x)
    g = np.asarray(grad(x))
    gn = float(np.linalg.norm(g))
    best_x, best_gn = x.copy(), gn
    stalls = 0
    for _ in range(max_iter):
        if gn <= gtol:
            break
        H = np.asarray(hess(x))
        try:
            p = -_sla().cho_solve(_sla().cho_factor(H), g)
        except np.linalg.LinAlgError:
            p = -_sla().lstsq(H, g)[0]
        slope = float(g @ p)
        if not slope < 0.0:
            p, slope = -g, -gn**2
        t = 1.0
        slack = 16.0 * np.finfo(np.float64).eps * max(1.0, abs(fx))
        while True:
            x_new = x + t * p
            f_new = fun(x_new)
            if f_new <= fx + 1e-4 * t * slope + slack or t < 1e-12:
                break
            t *= 0.5
        x, fx = x_new, f_new
        g = np.asarray(grad(x))
        gn = float(np.linalg.norm(g))
        if gn < best_gn:
            best_x, best_gn = x.copy(), gn
            stalls = 0
        elif best_gn < 1e-8:
            stalls += 1
            if stalls >= 3:
                break
    return best_x, best_gn

def _sla():
    import scipy.linalg  # lazy: keeps ``import optlab.problems`` cheap

    return scipy.linalg
