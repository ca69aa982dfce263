"""Linearly separable classification data with a known margin ``mu`` and radius ``R``.

Conventions (spec ``normalized_lr_gd.md`` §1): points ``x_i`` in ``R^d`` with labels ``y_i``
in ``{-1, +1}``, a homogeneous classifier (no bias), ``z_i = y_i x_i``,

* ``mu = max_{||theta|| = 1} min_i <z_i, theta>`` (Assumption 1.1), attained at the unit
  max-margin direction ``w_star``;
* ``R = max_i ||x_i||``; the iteration bounds of the perceptron family scale with
  ``R^2 / mu^2`` (:attr:`SeparableData.ratio`).

``mu`` is exact by construction for :func:`cone_set`, :func:`worst_case_set` and
:func:`two_point_set` (``mu_exact = True``) and comes from the homogeneous hard-margin SVM
(:func:`max_margin`) for the bundled scikit-learn pairs (``mu_exact = False``). The
synthetic sets are the ones to use for checks of bounds, where a numerical ``mu`` would
blur the comparison.

Data generation only: plain NumPy, nothing here is used inside an iteration. scikit-learn
(for :func:`digits_pair`, :func:`iris_pair`, :func:`wine_pair`) and scipy are imported lazily.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from optlab.backend import as_float_array, to_numpy
from optlab.problems._svm import _max_margin_direction
from optlab.separability import lp_separable

__all__ = [
    "SeparableData",
    "cone_set",
    "digits_pair",
    "iris_pair",
    "is_separable",
    "max_margin",
    "two_point_set",
    "wine_pair",
    "worst_case_bp_iterations",
    "worst_case_set",
]


# -- validation ------------------------------------------------------------------------------------
def _validate_xy(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Fresh float64 C-contiguous copies of ``X`` (n, d) and ``y`` (n,); ValueError naming the argument."""
    X = np.array(as_float_array(to_numpy(X), "X", ndim=2), dtype=np.float64, order="C", copy=True)
    n, d = X.shape
    if n == 0 or d == 0:
        raise ValueError(f"X must have at least one row and one column, got shape {X.shape}")
    y = np.array(as_float_array(to_numpy(y), "y", ndim=1, size=n), dtype=np.float64, copy=True)
    if not np.all((y == 1.0) | (y == -1.0)):
        bad = np.unique(y[(y != 1.0) & (y != -1.0)])[:5]
        raise ValueError(f"y must contain only the labels -1 and +1 (map {{0, 1}} labels with 2 * y - 1), "
                         f"got {bad.tolist()}")
    zero = ~np.any(X != 0.0, axis=1)
    if np.any(zero):
        raise ValueError(f"X has an all-zero row (row {int(np.flatnonzero(zero)[0])}): its margin is 0 for "
                         "every theta, so mu and R/mu are undefined")
    return X, y


def _positive_float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class SeparableData:
    """A linearly separable data set with its max margin and radius.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Points ``x_i`` (rows); finite, no all-zero row. Stored as a read-only float64
        C-contiguous copy.
    y : array_like, shape (n,)
        Labels, exactly ``-1`` or ``+1``. Stored as a read-only float64 copy.
    mu : float
        The max margin ``max_{||theta||=1} min_i y_i <x_i, theta>`` (> 0). Checked against
        ``min_i <z_i, w_star>`` (to ``1e-9 R``).
    R : float
        ``max_i ||x_i||``. Checked against the data (relative ``1e-12``).
    w_star : array_like, shape (d,)
        The unit max-margin direction. Stored as a read-only float64 copy.
    name : str
        Display name.
    mu_exact : bool
        True when ``mu`` (and ``w_star``) are exact by construction, False when they come
        from the numerical SVM (:func:`max_margin`).
    R2 : float, optional (keyword only)
        ``R^2``. By default ``max_i sum_j x_ij^2`` summed directly from the data, which is
        exact for dyadic data (the worst-case set has ``R2 = 1.25`` exactly while
        ``R**2`` rounds to ``1.2500000000000002``); a generator may pass the closed form.
        :attr:`ratio` uses it, so ``ceil(ratio)`` is not pushed up by a rounding error.

    Raises
    ------
    ValueError
        Naming the argument: a shape mismatch, ``n = 0`` or ``d = 0``, NaN/inf features,
        labels other than ``+-1``, an all-zero row, a non-positive or inconsistent
        ``mu``/``R``/``R2``, a ``w_star`` of the wrong shape or not of unit norm.
    """

    X: np.ndarray
    y: np.ndarray
    mu: float
    R: float
    w_star: np.ndarray
    name: str = "separable"
    mu_exact: bool = False
    R2: float | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        X, y = _validate_xy(self.X, self.y)
        d = X.shape[1]
        w = np.array(as_float_array(to_numpy(self.w_star), "w_star", ndim=1), dtype=np.float64, copy=True)
        if w.shape != (d,):
            raise ValueError(f"w_star must have shape ({d},) to match X, got {w.shape}")
        if abs(float(np.linalg.norm(w)) - 1.0) > 1e-10:
            raise ValueError(f"w_star must have unit norm, got norm {float(np.linalg.norm(w))!r}")
        mu = _positive_float(self.mu, "mu")
        R = _positive_float(self.R, "R")
        sq = np.einsum("ij,ij->i", X, X)
        R_data = float(np.sqrt(sq.max()))
        if abs(R - R_data) > 1e-12 * R_data:
            raise ValueError(f"R = {R!r} does not match max_i ||x_i|| = {R_data!r}")
        R2 = float(sq.max()) if self.R2 is None else _positive_float(self.R2, "R2")
        if abs(R2 - R * R) > 1e-12 * R2:
            raise ValueError(f"R2 = {R2!r} does not match R**2 = {R * R!r}")
        margin = float(np.min((y[:, None] * X) @ w))
        if abs(margin - mu) > 1e-9 * R:
            raise ValueError(f"mu = {mu!r} does not match min_i y_i <x_i, w_star> = {margin!r}")
        if not isinstance(self.name, str):
            raise ValueError(f"name must be a str, got {type(self.name).__name__}")
        if not isinstance(self.mu_exact, (bool, np.bool_)):
            raise ValueError(f"mu_exact must be a bool, got {self.mu_exact!r}")
        for key, value in (("X", _readonly(X)), ("y", _readonly(y)), ("w_star", _readonly(w)), ("mu", mu),
                           ("R", R), ("R2", R2), ("mu_exact", bool(self.mu_exact))):
            object.__setattr__(self, key, value)

    @property
    def n(self) -> int:
        """Number of points."""
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        """Dimension."""
        return int(self.X.shape[1])

    @property
    def ratio(self) -> float:
        """``R^2 / mu^2``, the scale of the perceptron-family bounds (``R2 / mu**2``)."""
        return self.R2 / self.mu**2

    @cached_property
    def Z(self) -> np.ndarray:
        """``y[:, None] * X``, shape (n, d), read-only float64 C-contiguous."""
        return _readonly(np.ascontiguousarray(self.y[:, None] * self.X))

    def __repr__(self) -> str:
        kind = "exact" if self.mu_exact else "svm"
        return (f"SeparableData({self.name!r}, n={self.n}, d={self.d}, mu={self.mu:.6g} ({kind}), "
                f"R={self.R:.6g}, ratio={self.ratio:.6g})")


# -- the max-margin reference --------------------------------------------------------------------
def max_margin(X: Any, y: Any) -> tuple[float, np.ndarray]:
    """The homogeneous hard-margin SVM: ``mu = max_{||w||=1} min_i y_i <x_i, w>`` and the unit ``w``.

    Solved by the least-distance / NNLS routine of :mod:`optlab.problems._svm` (the same one
    :class:`~optlab.problems.Logistic` uses). The returned direction is certified: ``mu`` is
    ``min_i y_i <x_i, w>`` evaluated on it, so it is a lower bound on the true max margin (and
    equals it to the solver's accuracy, ~1e-10 relative on the bundled sets).

    Raises
    ------
    ValueError
        For bad input (see :class:`SeparableData`), or "... not linearly separable ..." when no
        ``w`` has all margins > 0 (e.g. a point repeated with opposite labels).
    RuntimeError
        If the NNLS solve fails although the LP test (:func:`is_separable`) says the data are
        separable.
    """
    X, y = _validate_xy(X, y)
    Z = y[:, None] * X
    w, _ = _max_margin_direction(Z)
    if w is None:
        if lp_separable(Z):
            raise RuntimeError("the hard-margin SVM (NNLS) failed although the LP finds a separating theta")
        raise ValueError("X, y: the data are not linearly separable (no theta with y_i <x_i, theta> > 0 for "
                         "every i; a homogeneous classifier has no bias: append a constant feature for one)")
    return float(np.min(Z @ w)), w


def is_separable(X: Any, y: Any) -> bool:
    """LP feasibility test: is there ``theta`` with ``y_i <x_i, theta> >= 1`` for every ``i``?

    Solved with ``scipy.optimize.linprog`` (HiGHS) on the rows scaled to unit norm (which
    changes neither the answer nor the feasible directions, and keeps ``theta`` of order
    ``1/mu`` of the scaled data). ``True`` only with a certificate: the LP's ``theta`` must
    have every margin strictly positive. Raises ``RuntimeError`` when HiGHS neither finds a
    point nor proves infeasibility.
    """
    X, y = _validate_xy(X, y)
    return lp_separable(y[:, None] * X)


def _from_svm(X: np.ndarray, y: np.ndarray, name: str) -> SeparableData:
    try:
        mu, w = max_margin(X, y)
    except ValueError as err:
        if "not linearly separable" in str(err):
            raise ValueError(f"{name}: the data are not linearly separable without a bias") from err
        raise
    return SeparableData(X, y, mu, float(np.linalg.norm(X, axis=1).max()), w, name, mu_exact=False)


def _two_point_max_margin(z1: np.ndarray, z2: np.ndarray) -> tuple[float, np.ndarray]:
    """Closed form for two points: ``mu`` and ``w*`` from the min-norm point of the segment ``[z1, z2]``.

    By duality ``max_{||w||=1} min(<z1,w>, <z2,w>) = min_{p in conv{z1,z2}} ||p||`` when the
    right side is positive, with ``w* = p*/||p*||``. On the segment ``p(t) = z1 + t (z2 - z1)``,
    ``||p(t)||^2`` is minimized at ``t* = clip(-<z1, z2 - z1> / ||z2 - z1||^2, 0, 1)``.
    """
    diff = z2 - z1
    dd = float(diff @ diff)
    t = 0.0 if dd == 0.0 else min(max(-float(z1 @ diff) / dd, 0.0), 1.0)
    p = z1 + t * diff
    mu = float(np.linalg.norm(p))
    if mu == 0.0:
        raise ValueError("the two points are not linearly separable (0 lies on the segment [z1, z2])")
    return mu, p / mu


# -- synthetic sets with exact mu ------------------------------------------------------------------
def cone_set(n: int = 1000, d: int = 10, *, mu: float = 0.05, R: float = 1.0, seed: int = 0) -> SeparableData:
    """The "hard cone" of spec §4: exact ``mu`` and ``R``, unique max-margin direction.

    A unit ``w*`` is drawn from ``seed``. The support point is ``z_0 = mu w*``; every other
    ``z_i = c_i w* + sqrt(R^2 - c_i^2) v_i`` with ``c_i ~ U[mu, 2 mu]`` and ``v_i`` a random
    unit vector orthogonal to ``w*``. Labels ``y_i`` are random signs and ``x_i = y_i z_i``.

    Why ``mu`` and ``w*`` are exact: every ``<z_i, w*> = c_i >= mu`` with equality at
    ``i = 0``, so ``min_i <z_i, w*> = mu``. For any other unit ``theta``, Cauchy-Schwarz gives
    ``<w*, theta> < 1``, hence ``min_i <z_i, theta> <= <z_0, theta> = mu <w*, theta> < mu``.
    So ``mu`` is the max margin and ``w*`` the unique maximizer. ``||z_i|| = R`` for ``i >= 1``
    and ``||z_0|| = mu <= R``, so ``R = max_i ||x_i||`` exactly (``= mu`` when ``n = 1``). In
    floating point the data reproduce ``mu`` and ``R`` to a few ulps; the stored values are the
    exact ones (``R2 = R**2``).

    Parameters
    ----------
    n, d : int
        Number of points (>= 1) and dimension (>= 2: ``v_i`` needs a direction orthogonal
        to ``w*``).
    mu, R : float
        Margin and radius, ``0 < 2 mu <= R`` (so that ``c_i <= R``).
    seed : int
        Seed of ``w*``, the ``c_i``, ``v_i`` and the labels.
    """
    _check_int(n, "n", 1)
    _check_int(d, "d", 2)
    mu = _positive_float(mu, "mu")
    R = _positive_float(R, "R")
    if not 2.0 * mu <= R:
        raise ValueError(f"mu must satisfy 2 mu <= R (c_i ranges up to 2 mu), got mu={mu}, R={R}")
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(d)
    w /= np.linalg.norm(w)
    c = rng.uniform(mu, 2.0 * mu, size=n)
    c[0] = mu
    s = np.sqrt(np.maximum(R * R - c * c, 0.0))
    s[0] = 0.0
    V = rng.standard_normal((n, d))
    for _ in range(2):  # project twice: <v_i, w*> ~ 1e-17 instead of ~1e-16
        V -= np.outer(V @ w, w)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    Z = c[:, None] * w[None, :] + s[:, None] * V
    y = rng.choice(np.array([-1.0, 1.0]), size=n)
    X = y[:, None] * Z
    R_true = R if n > 1 else mu
    return SeparableData(X, y, mu, R_true, w, f"cone(n={n}, d={d}, mu={mu:g}, R={R:g}, seed={seed})",
                         mu_exact=True, R2=R_true * R_true)


def worst_case_set(n: int) -> SeparableData:
    """Theorem 5.1's set: one point ``(0.5, -1)`` with ``y = +1`` and ``n - 1`` points ``(-0.5, -1)`` with ``y = -1``.

    The ``y = +1`` point is row 0. ``z_0 = (0.5, -1)`` and ``z_i = (0.5, 1)`` for ``i >= 1``;
    the min-norm point of their hull is ``(0.5, 0)``, so ``mu = 0.5`` and ``w* = (1, 0)``
    exactly; ``R^2 = 1.25`` and ``R^2 / mu^2 = 5`` exactly (all data are dyadic). The Batch
    Perceptron needs :func:`worst_case_bp_iterations` ``(n)`` iterations, Theta(n), while
    NBP needs 2 (spec §3, T5.1 / T5.3).

    Parameters
    ----------
    n : int
        Number of points, >= 2.
    """
    _check_int(n, "n", 2)
    X = np.empty((n, 2))
    X[0] = (0.5, -1.0)
    X[1:] = (-0.5, -1.0)
    y = -np.ones(n)
    y[0] = 1.0
    return SeparableData(X, y, 0.5, math.sqrt(1.25), np.array([1.0, 0.0]), f"worst_case(n={n})", mu_exact=True,
                         R2=1.25)


def worst_case_bp_iterations(n: int) -> int:
    """Batch Perceptron iterations on :func:`worst_case_set` ``(n)``: ``floor(0.3 n - 0.8) + 2``.

    The spec's derived closed form (§3, T5.1, stated for ``n >= 10``; 4, 31, 301 at
    ``n = 10, 100, 1000``), with ``T`` the first ``t >= 1`` at which every margin of
    ``theta_hat_t`` is > 0. Derivation: ``theta_hat_1 = (1/4, (n-2)/(2n))``; while only
    ``z_0`` is misclassified each step adds ``z_0 / n = (1, -2) / (2n)``, and after ``k``
    steps ``m_0 = 1/8 + 5k/(4n) - (n-2)/(2n)``, which is > 0 iff ``k > 0.3 n - 0.8``, while
    the other margins stay >= ``0.4 - 1.15/n > 0``. The same algebra gives the formula for
    every ``n >= 2``, which is accepted here. Evaluated in integers as
    ``(3n - 8) // 10 + 2``, so it has no rounding error.

    For ``n = 6 (mod 10)`` the margin ``m_0`` is exactly 0 at ``k = 0.3 n - 0.8`` (a tie,
    counted as misclassified); a floating-point BP run can then round it to either side.
    """
    _check_int(n, "n", 2)
    return (3 * n - 8) // 10 + 2


def two_point_set() -> SeparableData:
    """Theorem 4.1's set: ``a_1 = (1, -1)``, ``y_1 = +1``; ``a_2 = (-1, -4)``, ``y_2 = -1``.

    Closed form (:func:`_two_point_max_margin`): ``z_1 = (1, -1)``, ``z_2 = (1, 4)``; on the
    segment ``z_1 + t (0, 5)`` the min-norm point is at ``t* = 5 / 25 = 1/5``, namely
    ``(1, 0)``. So ``mu = 1`` and ``w* = (1, 0)`` exactly (both margins equal 1), and
    ``R^2 = 17``, ``R^2 / mu^2 = 17``.
    """
    X = np.array([[1.0, -1.0], [-1.0, -4.0]])
    y = np.array([1.0, -1.0])
    Z = y[:, None] * X
    mu, w = _two_point_max_margin(Z[0], Z[1])
    return SeparableData(X, y, mu, math.sqrt(17.0), w, "two_point", mu_exact=True, R2=17.0)


# -- bundled scikit-learn data (mu from the SVM) ---------------------------------------------------------
def _sklearn_datasets() -> Any:
    try:
        from sklearn import datasets  # lazy: scikit-learn is a test/bench extra and slow to import
    except ImportError as err:
        raise ImportError("the bundled data sets need scikit-learn: pip install scikit-learn") from err
    return datasets


def _pair(data: Any, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of classes ``a`` (label +1) and ``b`` (label -1) in data-set order; also the class ids."""
    target = np.asarray(data.target)
    keep = (target == a) | (target == b)
    X = np.asarray(data.data, dtype=np.float64)[keep]
    t = target[keep]
    return X, np.where(t == a, 1.0, -1.0), t


def digits_pair(a: int = 3, b: int = 8, *, imbalance: float | None = None, seed: int = 0) -> SeparableData:
    """Two classes of scikit-learn's bundled ``load_digits`` (no download): ``a -> +1``, ``b -> -1``.

    Features are the 8x8 pixel intensities divided by 16 (so in ``[0, 1]``), no bias. ``mu``
    and ``w*`` come from :func:`max_margin` (``mu_exact = False``).

    Parameters
    ----------
    a, b : int
        Distinct digits in ``0..9``.
    imbalance : float, optional
        Fraction in ``(0, 1]`` of class ``b`` to keep: ``max(1, round(imbalance * n_b))``
        rows drawn without replacement with ``seed`` (the kept rows stay in data-set order).
        ``None`` keeps everything.
    seed : int
        Seed of the subset (unused without ``imbalance``).

    Raises
    ------
    ValueError
        Bad ``a``, ``b`` or ``imbalance``, or a pair that is not linearly separable.
    ImportError
        Without scikit-learn.
    """
    for name, v in (("a", a), ("b", b)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not 0 <= v <= 9:
            raise ValueError(f"{name} must be a digit 0..9, got {v!r}")
    if a == b:
        raise ValueError(f"a and b must differ, got a = b = {a}")
    if imbalance is not None:
        imbalance = _positive_float(imbalance, "imbalance")
        if imbalance > 1.0:
            raise ValueError(f"imbalance must be in (0, 1], got {imbalance}")
    X, y, _ = _pair(_sklearn_datasets().load_digits(), int(a), int(b))
    X /= 16.0
    name = f"digits {a}v{b}"
    if imbalance is not None and imbalance < 1.0:
        neg = np.flatnonzero(y < 0)
        k = max(1, math.floor(imbalance * neg.size + 0.5))
        drop = np.setdiff1d(neg, np.random.default_rng(seed).choice(neg, size=k, replace=False))
        keep = np.setdiff1d(np.arange(y.size), drop)
        X, y = X[keep], y[keep]
        name += f" (class {b} kept {imbalance:g}, seed {seed})"
    return _from_svm(X, y, name)


def iris_pair() -> SeparableData:
    """Classes 0 (setosa, ``+1``) and 1 (versicolor, ``-1``) of ``load_iris``, raw features, no bias."""
    X, y, _ = _pair(_sklearn_datasets().load_iris(), 0, 1)
    return _from_svm(X, y, "iris 0v1")


def wine_pair(standardize: bool = True) -> SeparableData:
    """Classes 0 (``+1``) and 1 (``-1``) of ``load_wine``, no bias.

    With ``standardize`` each feature is centred and scaled to unit (population) standard
    deviation over the 130 rows of the two kept classes; otherwise the raw features.
    """
    X, y, _ = _pair(_sklearn_datasets().load_wine(), 0, 1)
    if standardize:
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    return _from_svm(X, y, "wine 0v1" + (" standardized" if standardize else ""))


def _check_int(value: Any, name: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
