"""Rate fitting and bound checks: one implementation for every claim.

What each fit reads off a sequence ``y_k`` (a gap, a gradient norm, a regret...):

============================  ==============================  ========================
function                      model                           fitted ``value``
============================  ==============================  ========================
:func:`fit_power_law`         ``y ~ C k^(-p)`` (log-log)      exponent ``p``
:func:`fit_linear_rate`       ``y ~ C q^k`` (semi-log)        factor ``q``
:func:`fit_order`             ``y_{k+1} ~ C y_k^r``           order ``r`` (2: quadratic)
:func:`fit_complexity`        ``N(eps) ~ C (1/eps)^s``        slope ``s``
============================  ==============================  ========================

Every fit uses a window where the quantity is above the floating-point floor and past
the transient (:func:`tail_window`), and says which window it used. Across seeds,
:func:`fit_seeds` fits each seed and reports the median with a bootstrap interval;
for one series the interval is the regression's t-interval. :func:`check_bound`
compares a measured sequence with an explicit bound at every recorded point.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "BoundCheck",
    "Fit",
    "bootstrap_ci",
    "check_bound",
    "fit_complexity",
    "fit_linear_rate",
    "fit_order",
    "fit_power_law",
    "fit_seeds",
    "median_band",
    "tail_window",
]

_T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23}


@dataclass(frozen=True)
class Fit:
    """A fitted rate.

    Attributes
    ----------
    kind : str
        ``"power"``, ``"linear"``, ``"order"`` or ``"complexity"``.
    value : float
        The fitted exponent, factor, order or slope (see the module table).
    ci : tuple of float
        Confidence interval of ``value`` (bootstrap across seeds, or the regression's
        95% t-interval for a single series).
    intercept : float
        Intercept of the underlying linear regression (log scale).
    window : tuple of float
        First and last abscissa used.
    n_points : int
        Points in the window.
    per_seed : tuple of float
        Fitted values of the individual seeds (one entry for a single series).
    """

    kind: str
    value: float
    ci: tuple[float, float]
    intercept: float
    window: tuple[float, float]
    n_points: int
    per_seed: tuple[float, ...] = field(default=())

    def predict(self, k: Any) -> np.ndarray:
        """The fitted model evaluated at ``k`` (for overlays on figures)."""
        k = np.asarray(k, dtype=np.float64)
        if self.kind == "power":
            return np.exp(self.intercept) * k ** (-self.value)
        if self.kind == "linear":
            return np.exp(self.intercept + k * np.log(self.value))
        if self.kind == "complexity":
            return np.exp(self.intercept) * k**self.value
        raise ValueError(f"predict is not defined for a fit of kind {self.kind!r}")

    def __str__(self) -> str:
        lo, hi = self.ci
        return f"{self.value:.4g} [{lo:.4g}, {hi:.4g}]"


@dataclass(frozen=True)
class BoundCheck:
    """Outcome of :func:`check_bound`.

    Attributes
    ----------
    holds : bool
        ``measured <= bound * (1 + rtol)`` at every compared point.
    worst_ratio : float
        ``max(measured / bound)`` over the compared points.
    at : float
        Abscissa of the worst ratio.
    n_points : int
        Number of compared points.
    """

    holds: bool
    worst_ratio: float
    at: float
    n_points: int


def _as_1d(name: str, a: Any) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {a.shape}")
    return a


def tail_window(k: Any, y: Any, *, floor: float | None = None, skip: float = 0.2,
                window: tuple[float, float] | None = None, log_skip: bool = False) -> np.ndarray:
    """Boolean mask of the points to fit.

    Keeps finite ``y > floor`` (default floor: ``1e-12 * max(y)``, the float64 floor of a
    quantity that started at ``max(y)``) up to the first point at or below the floor,
    then drops the first ``skip`` fraction of the remaining range of ``k`` as transient
    (in ``log k`` when ``log_skip``). An explicit ``window=(k_lo, k_hi)`` overrides both.
    """
    k = _as_1d("k", k)
    y = _as_1d("y", y)
    if k.shape != y.shape:
        raise ValueError(f"k and y must have the same length, got {k.shape} and {y.shape}")
    if not 0 <= skip < 1:
        raise ValueError(f"skip must be in [0, 1), got {skip}")
    finite = np.isfinite(y) & np.isfinite(k)
    if not finite.any():
        return np.zeros_like(finite)
    if floor is None:
        floor = 1e-12 * float(np.max(np.abs(y[finite])))
    above = finite & (y > floor)
    if window is not None:
        return above & (k >= window[0]) & (k <= window[1])
    below = np.flatnonzero(~above & (np.arange(len(y)) > np.argmax(above)))
    end = below[0] if below.size and above.any() else len(y)
    keep = above & (np.arange(len(y)) < end)
    if not keep.any():
        return keep
    k_lo, k_hi = k[keep].min(), k[keep].max()
    if log_skip:
        k_lo = max(k_lo, 1e-300)
        start = np.exp(np.log(k_lo) + skip * (np.log(k_hi) - np.log(k_lo)))
    else:
        start = k_lo + skip * (k_hi - k_lo)
    return keep & (k >= start)


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float, tuple[float, float]]:
    """Slope, intercept and the slope's 95% t-interval."""
    n = len(x)
    if n < 3:
        raise ValueError(f"need at least 3 points in the fit window, got {n}")
    xm, ym = x.mean(), y.mean()
    sxx = float(((x - xm) ** 2).sum())
    if sxx == 0:
        raise ValueError("the fit window has a single abscissa")
    slope = float(((x - xm) * (y - ym)).sum() / sxx)
    intercept = float(ym - slope * xm)
    resid = y - (intercept + slope * x)
    se = float(np.sqrt((resid**2).sum() / (n - 2) / sxx))
    t = _T95.get(n - 2, 1.96 + 2.5 / (n - 2))
    return slope, intercept, (slope - t * se, slope + t * se)


def fit_power_law(k: Any, y: Any, *, floor: float | None = None, skip: float = 0.5,
                  window: tuple[float, float] | None = None) -> Fit:
    """Fit ``y ~ C k^(-p)`` by least squares on ``log y`` vs ``log k``.

    The default window is the upper half of the decades of ``k`` above the floor
    (``skip=0.5`` in ``log k``); points with ``k <= 0`` are dropped.
    """
    k = _as_1d("k", k)
    y = _as_1d("y", y)
    m = tail_window(k, y, floor=floor, skip=skip, window=window, log_skip=True) & (k > 0)
    slope, icpt, (lo, hi) = _ols(np.log(k[m]), np.log(y[m]))
    return Fit("power", -slope, (-hi, -lo), icpt, (float(k[m][0]), float(k[m][-1])), int(m.sum()), (-slope,))


def fit_linear_rate(k: Any, y: Any, *, floor: float | None = None, skip: float = 0.2,
                    window: tuple[float, float] | None = None) -> Fit:
    """Fit ``y ~ C q^k`` by least squares on ``log y`` vs ``k``; returns the factor ``q``."""
    k = _as_1d("k", k)
    y = _as_1d("y", y)
    m = tail_window(k, y, floor=floor, skip=skip, window=window)
    slope, icpt, (lo, hi) = _ols(k[m], np.log(y[m]))
    return Fit("linear", float(np.exp(slope)), (float(np.exp(lo)), float(np.exp(hi))), icpt,
               (float(k[m][0]), float(k[m][-1])), int(m.sum()), (float(np.exp(slope)),))


def fit_order(y: Any, *, floor: float | None = None, ceiling: float = 1e-1) -> Fit:
    """Order of convergence ``r`` from ``log y_{k+1} ~ r log y_k + c``.

    Uses consecutive pairs with ``floor < y < ceiling`` (the asymptotic regime of a
    quantity normalized to start near 1). ``r ~ 1`` is linear, ``r > 1`` superlinear,
    ``r ~ 2`` quadratic; equivalently, ``log(-log y_k)`` grows by ``log r`` per step.
    The default floor is ``1e-300``: quadratic convergence often
    reaches tiny values in one step, and the pairs, not a tail, carry the information.
    """
    y = _as_1d("y", y)
    floor = 1e-300 if floor is None else floor
    ok = np.isfinite(y) & (y > floor) & (y < ceiling)
    pairs = ok[:-1] & ok[1:]
    a, b = np.log(y[:-1][pairs]), np.log(y[1:][pairs])
    if len(a) < 2:
        raise ValueError(f"need at least 2 consecutive pairs with {floor:g} < y < {ceiling:g}, got {len(a)}")
    if len(a) == 2:  # two pairs: exact solve, no interval
        r = float((b[1] - b[0]) / (a[1] - a[0]))
        return Fit("order", r, (r, r), float(b[0] - r * a[0]), (0.0, float(pairs.sum())), 2, (r,))
    slope, icpt, ci = _ols(a, b)
    return Fit("order", slope, ci, icpt, (0.0, float(pairs.sum())), len(a), (slope,))


def fit_complexity(eps: Any, n_iter: Any) -> Fit:
    """Slope ``s`` of ``log N`` vs ``log(1/eps)``: iteration complexity ``N(eps) ~ C eps^(-s)``.

    Runs that never reached ``eps`` (``n_iter`` NaN or infinite) are dropped.
    """
    eps = _as_1d("eps", eps)
    n = _as_1d("n_iter", n_iter)
    if np.any(eps <= 0):
        raise ValueError("eps must be positive")
    m = np.isfinite(n) & (n > 0)
    slope, icpt, ci = _ols(np.log(1.0 / eps[m]), np.log(n[m]))
    return Fit("complexity", slope, ci, icpt, (float(eps[m].max()), float(eps[m].min())), int(m.sum()),
               (slope,))


def bootstrap_ci(values: Any, *, stat: Callable[[np.ndarray], float] = np.median, n_boot: int = 2000,
                 level: float = 0.9, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat`` over ``values`` (seeds resampled with replacement)."""
    v = _as_1d("values", values)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (np.nan, np.nan)
    if v.size == 1:
        return (float(v[0]), float(v[0]))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, v.size, size=(n_boot, v.size))
    stats = np.apply_along_axis(stat, 1, v[idx])
    a = (1.0 - level) / 2.0
    return (float(np.quantile(stats, a)), float(np.quantile(stats, 1.0 - a)))


def fit_seeds(fitter: Callable[..., Fit], series: Sequence[tuple[Any, Any]], *, level: float = 0.9,
              **kwargs: Any) -> Fit:
    """Fit each seed's ``(k, y)`` with ``fitter``; the median with a bootstrap interval.

    With a single series the regression's own interval is kept. A verdict should use
    the interval, not one lucky seed.
    """
    if len(series) == 0:
        raise ValueError("series is empty")
    fits = [fitter(k, y, **kwargs) for k, y in series]
    if len(fits) == 1:
        return fits[0]
    vals = np.array([f.value for f in fits])
    med = float(np.median(vals))
    f0 = fits[int(np.argmin(np.abs(vals - med)))]
    return Fit(f0.kind, med, bootstrap_ci(vals, level=level), f0.intercept,
               (min(f.window[0] for f in fits), max(f.window[1] for f in fits)),
               int(np.median([f.n_points for f in fits])), tuple(float(v) for v in vals))


def check_bound(measured: Any, bound: Any, *, k: Any = None, rtol: float = 1e-9) -> BoundCheck:
    """Check ``measured <= bound`` at every point where both are finite.

    ``rtol`` absorbs rounding in the bound's own evaluation only; it is not a fudge factor.
    A non-finite measured value where the bound is finite counts as a violation.
    """
    m = _as_1d("measured", measured)
    b = _as_1d("bound", bound)
    if m.shape != b.shape:
        raise ValueError(f"measured and bound must have the same length, got {m.shape} and {b.shape}")
    k = np.arange(len(m), dtype=np.float64) if k is None else _as_1d("k", k)
    use = np.isfinite(b) & (b > 0)
    if not use.any():
        raise ValueError("the bound is not finite and positive at any point")
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isfinite(m[use]), m[use] / b[use], np.inf)
    i = int(np.argmax(ratio))
    worst = float(ratio[i])
    return BoundCheck(bool(worst <= 1.0 + rtol), worst, float(k[use][i]), int(use.sum()))


def median_band(curves: Sequence[Any], q: tuple[float, float] = (0.1, 0.9)) -> tuple[np.ndarray, ...]:
    """Median and quantile band across seeds of equal-length curves (NaN-padded if shorter).

    Returns ``(median, lower, upper)``.
    """
    if len(curves) == 0:
        raise ValueError("curves is empty")
    n = max(len(c) for c in curves)
    M = np.full((len(curves), n), np.nan)
    for i, c in enumerate(curves):
        M[i, : len(c)] = np.asarray(c, dtype=np.float64)
    with warnings.catch_warnings():  # all-NaN columns past the shortest curve are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        return (np.nanmedian(M, axis=0), np.nanquantile(M, q[0], axis=0), np.nanquantile(M, q[1], axis=0))
