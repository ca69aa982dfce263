"""Optimal transport instances with known answers (for :mod:`optlab.ot` and the ``sns`` claims).

Every generator returns a :class:`TransportProblem`: marginals ``a``, ``b`` (NumPy float64,
positive, summing to one), a cost ``C`` and what is known in closed form about the
*unregularized* problem: ``ot_value`` (the optimal transport cost), and for assignment
families the optimal permutation ``perm`` and the vertex optimality gap ``delta``.

- :func:`random_assignment`: ``C ~ U[0, 1]``, uniform marginals; ``OT = LAP / n``
  (Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``).
- :func:`planted_permutation`: ``0.25 U`` on a random permutation and ``0.5 + 0.5 U``
  elsewhere, so the permutation is optimal with ``delta >= 0.5 / n``.
- :func:`one_dimensional`: points on a line, ``|x - y|^p``; ``W_p^p`` from the quantile
  functions, exact for discrete measures (:func:`wasserstein_1d_exact`).
- :func:`gaussian_grid`: two discretized 1-D Gaussians on a grid, squared distance;
  ``W2^2 = (m1 - m2)^2 + (s1 - s2)^2`` for the continuous densities (a loose reference).
- :func:`digits_transport`: two scikit-learn digits images (8 x 8) upsampled, as
  measures on pixel coordinates in ``[0, 1]^2`` with L1 or squared-L2 costs.
- :func:`lp_optimum`: the exact LP optimum by HiGHS (tiny problems).

No problem imports a method: references that need a solver live in the claims.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "TransportProblem",
    "digits_transport",
    "gaussian_grid",
    "lp_optimum",
    "one_dimensional",
    "planted_permutation",
    "random_assignment",
    "vertex_gap",
    "wasserstein_1d_exact",
]


@dataclass
class TransportProblem:
    """A discrete OT instance ``(a, b, C)`` with its known answers.

    Attributes
    ----------
    a, b : numpy.ndarray
        Marginals (positive, each summing to one).
    C : numpy.ndarray
        Cost matrix ``(n, m)``.
    name : str
        Family and parameters.
    ot_value : float or None
        The unregularized optimal cost ``min <C, P>`` when known in closed form.
    perm : numpy.ndarray or None
        Optimal assignment ``i -> perm[i]`` (assignment families).
    delta : float or None
        Vertex optimality gap (planted family, computed on request by :func:`vertex_gap`).
    constants : dict
        Anything else known (``cmax``, the closed-form ``W`` of a family, ...).
    """

    a: np.ndarray
    b: np.ndarray
    C: np.ndarray
    name: str
    ot_value: float | None = None
    perm: np.ndarray | None = None
    delta: float | None = None
    constants: dict[str, float] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.C.shape

    def entropic_bias_bound(self, reg: float) -> float:
        """``log(n m) reg``: ``0 <= <C, P_reg> - OT <= log(nm) reg`` (spec Section 1)."""
        n, m = self.C.shape
        return math.log(n * m) * reg


def _uniform(n: int) -> np.ndarray:
    return np.full(n, 1.0 / n)


def random_assignment(n: int, seed: int = 0, *, solve_lap: bool = True) -> TransportProblem:
    """``C_ij ~ U[0, 1]``, ``a = b = 1/n``; ``OT = LAP / n`` with the optimal permutation.

    ``solve_lap=False`` skips the Hungarian solve (``O(n^3)``, seconds at n = 2000);
    ``ot_value`` and ``perm`` are then ``None``.
    """
    C = np.random.default_rng(seed).random((n, n))
    prob = TransportProblem(_uniform(n), _uniform(n), C, f"random_assignment(n={n}, seed={seed})",
                            constants={"cmax": float(C.max())})
    if solve_lap:
        from scipy.optimize import linear_sum_assignment  # lazy: scipy.optimize costs 0.3 s
        rows, cols = linear_sum_assignment(C)
        prob.ot_value, prob.perm = float(C[rows, cols].sum() / n), cols.astype(np.int64)
    return prob


def planted_permutation(n: int, seed: int = 0, *, with_delta: bool = True) -> TransportProblem:
    """Cost ``0.25 U`` on a random permutation ``pi`` and ``0.5 + 0.5 U`` elsewhere.

    ``pi`` is the unique optimum: any other permutation leaves ``pi`` in at least two rows,
    each costing at least ``0.25`` more, so ``delta >= 0.5 / n``. The exact value is
    computed by :func:`vertex_gap` when ``with_delta`` (``n`` LAP solves).
    """
    rng = np.random.default_rng(seed)
    pi = rng.permutation(n)
    C = 0.5 + 0.5 * rng.random((n, n))
    C[np.arange(n), pi] = 0.25 * rng.random(n)
    from scipy.optimize import linear_sum_assignment  # lazy: scipy.optimize costs 0.3 s
    rows, cols = linear_sum_assignment(C)
    if not np.array_equal(cols, pi):
        raise AssertionError("planted permutation is not the LAP optimum")  # cannot happen by construction
    prob = TransportProblem(_uniform(n), _uniform(n), C, f"planted_permutation(n={n}, seed={seed})",
                            ot_value=float(C[rows, cols].sum() / n), perm=pi.astype(np.int64),
                            constants={"cmax": float(C.max())})
    if with_delta:
        prob.delta = vertex_gap(C, pi)
    return prob


def vertex_gap(C: np.ndarray, perm: np.ndarray) -> float:
    """``Delta`` for uniform marginals with a unique optimal permutation ``perm``.

    The vertices of the transport polytope are permutation matrices over ``n``; the
    nearest one off the optimum differs in at least one edge, so
    ``Delta = (min_e LAP(C with e forbidden) - LAP) / n`` over the optimal edges ``e``.
    """
    n = C.shape[0]
    base = float(C[np.arange(n), perm].sum())
    big = float(np.abs(C).max()) * n * 10 + 1.0
    best = math.inf
    for i in range(n):
        Ce = C.copy()
        Ce[i, perm[i]] = big
        from scipy.optimize import linear_sum_assignment  # lazy: scipy.optimize costs 0.3 s
        r, c = linear_sum_assignment(Ce)
        best = min(best, float(Ce[r, c].sum()))
    return (best - base) / n


def wasserstein_1d_exact(x: np.ndarray, a: np.ndarray, y: np.ndarray, b: np.ndarray, p: float) -> float:
    """``W_p^p = int_0^1 |F^{-1}(u) - G^{-1}(u)|^p du`` of two discrete measures on the line.

    The quantile functions are step functions; over the merged breakpoints of the two
    cumulative weights the integrand is constant, so the sum is exact.
    """
    ix, iy = np.argsort(x, kind="stable"), np.argsort(y, kind="stable")
    xs, ws = np.asarray(x, float)[ix], np.asarray(a, float)[ix]
    ys, vs = np.asarray(y, float)[iy], np.asarray(b, float)[iy]
    Fa, Fb = np.cumsum(ws) / ws.sum(), np.cumsum(vs) / vs.sum()
    Fa[-1] = Fb[-1] = 1.0  # the rounded total may exceed 1 and drop the last interval
    u = np.unique(np.concatenate([[0.0], Fa, Fb]))
    u = u[(u >= 0) & (u <= 1)]
    mid = 0.5 * (u[:-1] + u[1:])
    qa = xs[np.minimum(np.searchsorted(Fa, mid, side="left"), len(xs) - 1)]
    qb = ys[np.minimum(np.searchsorted(Fb, mid, side="left"), len(ys) - 1)]
    return float(np.sum(np.diff(u) * np.abs(qa - qb) ** p))


def one_dimensional(n: int, m: int | None = None, *, p: float = 2.0, seed: int = 0) -> TransportProblem:
    """Random points and weights on ``[0, 1]``, cost ``|x_i - y_j|^p``; ``ot_value = W_p^p`` exactly."""
    m = n if m is None else m
    rng = np.random.default_rng(seed)
    x, y = rng.random(n), 0.3 + rng.random(m)
    a, b = rng.random(n) + 0.5, rng.random(m) + 0.5
    a, b = a / a.sum(), b / b.sum()
    C = np.abs(x[:, None] - y[None, :]) ** p
    prob = TransportProblem(a, b, C, f"one_dimensional(n={n}, m={m}, p={p}, seed={seed})",
                            ot_value=wasserstein_1d_exact(x, a, y, b, p))
    prob.constants.update(p=p)
    prob.points = (x, y)  # type: ignore[attr-defined]
    return prob


def gaussian_grid(n: int = 200, *, m1: float = -0.5, s1: float = 0.6, m2: float = 0.8, s2: float = 0.9,
                  half_width: float = 5.0) -> TransportProblem:
    """Two Gaussian densities discretized on ``n`` grid points of ``[-L, L]``, squared cost.

    ``constants["w2sq"] = (m1 - m2)^2 + (s1 - s2)^2`` is the continuous ``W2^2``: the
    discrete problem approaches it as the grid is refined (a loose check only), while
    ``ot_value`` is the exact discrete ``W2^2`` from the quantile functions.
    """
    t = np.linspace(-half_width, half_width, n)
    a = np.exp(-0.5 * ((t - m1) / s1) ** 2)
    b = np.exp(-0.5 * ((t - m2) / s2) ** 2)
    a, b = a / a.sum(), b / b.sum()
    C = (t[:, None] - t[None, :]) ** 2
    return TransportProblem(a, b, C, f"gaussian_grid(n={n})", ot_value=wasserstein_1d_exact(t, a, t, b, 2.0),
                            constants={"w2sq": (m1 - m2) ** 2 + (s1 - s2) ** 2})


def digits_transport(i: int = 0, j: int = 1, *, size: int = 16, cost: str = "sqeuclidean",
                     floor: float = 0.0) -> TransportProblem:
    """Two ``sklearn`` digits images upsampled to ``size x size`` as measures on ``[0, 1]^2``.

    Images ``i`` and ``j`` of ``sklearn.datasets.load_digits`` (bundled, no download) are
    zoomed with ``scipy.ndimage.zoom(order=1)``, clipped at 0, shifted by ``floor`` and
    normalized; zero pixels are dropped (``floor = 0``) so the marginals are positive.
    ``cost`` is ``"sqeuclidean"`` or ``"l1"`` on the pixel coordinates. [our choice: the
    paper's MNIST pairs are not available offline.]
    """
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    if cost not in ("sqeuclidean", "l1"):
        raise ValueError(f"cost must be 'sqeuclidean' or 'l1', got {cost!r}")
    images = load_digits().images
    grid = (np.arange(size) + 0.5) / size
    gx, gy = np.meshgrid(grid, grid, indexing="ij")
    coords = np.stack([gx.ravel(), gy.ravel()], axis=1)

    def measure(k: int) -> tuple[np.ndarray, np.ndarray]:
        img = np.clip(zoom(images[k].astype(float), size / 8.0, order=1), 0.0, None) + floor
        w = img.ravel()
        keep = w > 0
        return coords[keep], w[keep] / w[keep].sum()

    X, a = measure(i)
    Y, b = measure(j)
    diff = X[:, None, :] - Y[None, :, :]
    C = (diff**2).sum(-1) if cost == "sqeuclidean" else np.abs(diff).sum(-1)
    return TransportProblem(a, b, C, f"digits_transport({i}, {j}, size={size}, cost={cost})",
                            constants={"cmax": float(C.max())})


def lp_optimum(a: np.ndarray, b: np.ndarray, C: np.ndarray) -> tuple[float, np.ndarray]:
    """The unregularized OT value and an optimal plan by ``scipy.optimize.linprog(method="highs")``.

    ``n + m`` equality rows on ``vec(P) >= 0``; for tiny problems only (dense constraints).
    """
    n, m = C.shape
    A = np.zeros((n + m, n * m))
    for i in range(n):
        A[i, i * m:(i + 1) * m] = 1.0
    for j in range(m):
        A[n + j, j::m] = 1.0
    from scipy.optimize import linprog
    res = linprog(C.ravel(), A_eq=A, b_eq=np.concatenate([a, b]), bounds=(0, None), method="highs")
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed: {res.message}")
    return float(res.fun), res.x.reshape(n, m)
