"""Hard-margin SVM through the origin, shared by the problem families (NumPy, construction time only).

The max margin ``mu = max_{||w|| = 1} min_i <z_i, w>`` of rows ``z_i = y_i x_i`` equals the
distance from the origin to the convex hull of the ``z_i`` when it is positive; both are
read off one least-distance program solved by NNLS.
"""

from __future__ import annotations

import numpy as np

__all__: list[str] = []


def _max_margin_direction(Z: np.ndarray) -> tuple[np.ndarray | None, float | None]:
    """Hard-margin SVM through the origin: ``min ||w|| s.t. Z w >= 1``.

    Solved as a least-distance program by one NNLS (Lawson & Hanson, *Solving Least
    Squares Problems*, ch. 23): with ``E = [Z^T; 1^T]`` and ``e = (0, ..., 0, 1)``, the
    NNLS solution ``u`` of ``min ||E u - e||`` gives the residual ``r = E u - e`` and
    ``w = -r[:d] / r[d]``. Returns the unit direction ``w / ||w||`` and the dual upper
    bound ``||Z^T p||`` with ``p = u / sum(u)`` on the max margin; ``(None, None)``
    when the data are not separable (checked on the returned direction itself, so a
    "separable" answer is always certified).
    """
    n, d = Z.shape
    E = np.vstack([Z.T, np.ones((1, n))])
    e = np.zeros(d + 1)
    e[-1] = 1.0
    try:
        from scipy.optimize import nnls  # lazy: scipy.optimize costs ~150 ms at import

        u, _ = nnls(E, e, maxiter=max(50 * n, 1000))
    except RuntimeError:  # iteration limit: treat as undecided-nonseparable
        return None, None
    r = E @ u - e
    if not (r[d] < 0.0) or not np.all(np.isfinite(r)):
        return None, None
    w = -r[:d] / r[d]
    nw = np.linalg.norm(w)
    if nw == 0.0:
        return None, None
    w = w / nw
    if not np.min(Z @ w) > 0.0:
        return None, None
    upper = float(np.linalg.norm(Z.T @ (u / u.sum()))) if u.sum() > 0 else None
    return w, upper
