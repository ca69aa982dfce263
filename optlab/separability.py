"""Linear separability through the origin, decided by a linear program.

Shared by the data side (:mod:`optlab.problems.separable`) and the method side
(:mod:`optlab.classification`, which reports ``not_separable`` at the iteration cap),
so neither imports the other.
"""

from __future__ import annotations

import numpy as np

__all__ = ["lp_separable"]


def lp_separable(Z: np.ndarray) -> bool:
    """Is there ``theta`` with ``<z_i, theta> > 0`` for every row ``z_i = y_i x_i`` of ``Z``?

    Solved with ``scipy.optimize.linprog`` (HiGHS) as the feasibility of ``Zn theta >= 1``
    on the rows scaled to unit norm (which changes neither the answer nor the feasible
    directions, and keeps ``theta`` of order ``1/mu``). ``True`` only with a certificate:
    the LP's ``theta`` must give every margin strictly positive. Raises ``RuntimeError``
    when HiGHS neither finds a point nor proves infeasibility.
    """
    from scipy.optimize import linprog  # lazy: scipy.optimize costs ~150 ms at import

    Z = np.asarray(Z, dtype=np.float64)
    Zn = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    n, d = Zn.shape
    res = linprog(np.zeros(d), A_ub=-Zn, b_ub=-np.ones(n), bounds=[(None, None)] * d, method="highs")
    if res.status == 0:
        return bool(np.min(Zn @ res.x) > 0.0)
    if res.status == 2:  # infeasible
        return False
    raise RuntimeError(f"linprog could not decide separability: {res.message}")
