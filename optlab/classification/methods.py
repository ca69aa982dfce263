"""LR+GD with any step size, Normalized LR+GD, and the perceptrons they tend to.

Reference: A. Tyurin, "From Logistic Regression to the Perceptron Algorithm: Exploring
Gradient Descent with Large Step Sizes", AAAI 2025 (arXiv:2412.08424).

All methods start from ``theta_0 = 0`` (the theorems require it) and stop at
``T`` = the first ``t >= 1`` with every margin ``y_i <x_i, theta_t>`` strictly positive;
the result's ``nit`` is ``T`` and ``x`` is ``theta_T``. LR+GD and Normalized LR+GD
iterate in the scaled form ``phi = theta / gamma`` with weights from log-sigmoid and
softmax, so nothing overflows at ``gamma = 1e8``; ``gamma = inf`` is the exact limit
(Batch Perceptron and Normalized Batch Perceptron), not a large finite step.

The trace holds, per recorded iteration: ``fun`` (logistic loss at ``theta_t``),
``grad_norm``, ``accuracy`` (fraction of positive margins), ``n_nonpos`` (``|S_t|``),
``min_margin`` (in the ``phi`` scale) and ``angle`` (radians, to ``w_star`` when given).
A run that reaches ``max_iter`` unseparated ends with status ``not_separable`` when an
LP certifies that the data are not linearly separable, else ``max_iter``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from optlab.backend import as_float_array, namespace, numba_applies, to_numpy
from optlab.classification import _passes
from optlab.classification._passes import BATCH, LOGISTIC, NORMALIZED, NORMALIZED_BATCH, SINGLE
from optlab.result import Monitor, Result, Status, Trace
from optlab.separability import lp_separable

__all__ = [
    "batch_perceptron",
    "is_separable",
    "lr_gd",
    "normalized_batch_perceptron",
    "normalized_lr_gd",
    "perceptron",
    "prepare_data",
]

_EXTRA = ("accuracy", "n_nonpos", "min_margin", "angle")


def prepare_data(X: Any, y: Any) -> Any:
    """Validate a labelled dataset and return ``Z = y[:, None] * X`` (C-contiguous for NumPy).

    Raises ``ValueError`` naming the argument for: a shape mismatch, ``n = 0``, NaN or
    infinite features, labels other than ``-1``/``+1`` (map ``{0, 1}`` labels with
    ``2 * y - 1``), and an all-zero row (its margin is zero for every ``theta``).
    """
    X = as_float_array(X, "X", ndim=2)
    xp = namespace(X)
    n = X.shape[0]
    if n == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one row and one column, got shape {tuple(X.shape)}")
    y = as_float_array(y, "y", ndim=1, size=n)
    if namespace(y) is not xp:
        raise TypeError("X and y must come from the same array library")
    if not bool(xp.all((y == 1.0) | (y == -1.0))):
        raise ValueError("y must contain only the labels -1 and +1 (map {0, 1} labels with 2 * y - 1)")
    y = xp.astype(y, X.dtype)
    if not bool(xp.all(xp.any(X != 0, axis=1))):
        raise ValueError("X has an all-zero row: its margin is 0 for every theta, so no theta separates the data")
    Z = y[:, None] * X
    if isinstance(Z, np.ndarray):
        Z = np.ascontiguousarray(Z)
    return Z


def is_separable(X: Any, y: Any) -> bool:
    """Whether some ``theta`` gives every ``y_i <x_i, theta>`` a positive value (an LP, see
    :func:`optlab.separability.lp_separable`)."""
    return lp_separable(to_numpy(prepare_data(X, y)))


def _check_gamma(gamma: Any, *, allow_inf: bool) -> float:
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise TypeError(f"gamma must be a positive number, got {gamma!r}") from None
    if math.isnan(g) or g <= 0 or (math.isinf(g) and not allow_inf):
        raise ValueError(f"gamma must be positive and finite{' or inf' if allow_inf else ''}, got {gamma!r}")
    return g


def _pass_function(Z: Any) -> Callable[..., _passes.PassResult]:
    if numba_applies(Z):
        from optlab.classification import _kernels  # compiled on first use, cached on disk

        return _kernels.data_pass
    return _passes.data_pass


def _angle(phi: Any, w_star: Any) -> float:
    xp = namespace(phi)
    nphi = float(xp.linalg.vector_norm(phi))
    if nphi == 0.0:
        return math.nan
    c = float(xp.sum(phi * w_star)) / (nphi * float(xp.linalg.vector_norm(w_star)))
    return math.acos(max(-1.0, min(1.0, c)))


def _separated(trace: Trace) -> bool:
    return trace["iteration"][-1] >= 1 and trace["min_margin"][-1] > 0


def _run(X: Any, y: Any, gamma: float, mode: int, *, max_iter: int, record_every: int, w_star: Any,
         callback: Callable[[Result], Any] | None, check_separable: bool) -> Result:
    """The loop shared by the batch methods and the perceptron (see the module docstring)."""
    Z = prepare_data(X, y)
    xp = namespace(Z)
    n, d = Z.shape
    scale = gamma if math.isfinite(gamma) else 1.0  # theta = scale * phi
    if w_star is not None:
        w_star = as_float_array(w_star, "w_star", ndim=1, size=d)
        w_star = xp.asarray(w_star, dtype=Z.dtype, device=Z.device)
    data_pass = _pass_function(Z)
    mon = Monitor(None, max_iter=max_iter, record_every=record_every, callback=callback, extra=_EXTRA,
                  done=_separated)
    phi = xp.zeros(d, dtype=Z.dtype, device=Z.device)
    t = 0
    while True:
        r = data_pass(Z, phi, gamma, mode)
        mon.count(njev=1)
        separated = t >= 1 and r.min_margin > 0
        if separated or mon.due(t):
            stop = mon.record(t, scale * phi, r.loss, grad_norm=r.grad_norm, accuracy=1.0 - r.n_nonpos / n,
                              n_nonpos=r.n_nonpos, min_margin=r.min_margin,
                              angle=_angle(phi, w_star) if w_star is not None else math.nan)
            if stop or separated:
                break
        if mode in (LOGISTIC, BATCH):
            # BP's first step is (1/2n) sum z_i: the limit sigma(0) = 1/2 of LR+GD at theta_0 = 0
            phi = phi + r.g / (2 * n if (mode == BATCH and t == 0) else n)
        else:
            phi = phi + r.g
        t += 1
    reason = None
    if not separated and mon.reason is None and check_separable and not is_separable(X, y):
        reason = Status.NOT_SEPARABLE
    return mon.result(scale * phi, nit=t, reason=reason, gamma=gamma)


_COMMON_DOC = """
    max_iter : int
        Iteration cap (updates, for the perceptron).
    record_every : int
        Trace every this many iterations; the last iteration is always recorded.
    w_star : array, optional
        A reference direction (e.g. the max-margin one) for the ``angle`` trace field.
    callback : callable, optional
        ``callback(intermediate_result)`` at recorded iterations (``x`` is ``theta_t``);
        raise ``StopIteration`` to stop.
    check_separable : bool
        At the cap, run an LP to tell ``not_separable`` from ``max_iter``.

    Returns
    -------
    Result
        ``nit = T``, ``x = theta_T``, ``status = "converged"`` when separated.
"""


def lr_gd(X: Any, y: Any, gamma: float, *, max_iter: int = 100_000, record_every: int = 1,
          w_star: Any = None, callback: Callable[[Result], Any] | None = None,
          check_separable: bool = True) -> Result:
    """Gradient descent on the logistic loss with any step size (LR+GD).

    Tyurin (AAAI 2025), Algorithm LR+GD:
    ``theta_{t+1} = theta_t + (gamma/n) sum_i sigma(-y_i <x_i, theta_t>) y_i x_i`` from
    ``theta_0 = 0``, run in the scaled form ``phi = theta/gamma``; ``gamma = inf`` is the
    Batch Perceptron (Theorem 3.2).

    Parameters
    ----------
    X : array, shape (n, d)
        Features.
    y : array, shape (n,)
        Labels in ``{-1, +1}``.
    gamma : float
        Step size, ``> 0``; no upper limit; ``inf`` for the exact limit.
    """
    g = _check_gamma(gamma, allow_inf=True)
    mode = LOGISTIC if math.isfinite(g) else BATCH
    return _run(X, y, g, mode, max_iter=max_iter, record_every=record_every, w_star=w_star, callback=callback,
                check_separable=check_separable)


def normalized_lr_gd(X: Any, y: Any, gamma: float, *, max_iter: int = 100_000, record_every: int = 1,
                     w_star: Any = None, callback: Callable[[Result], Any] | None = None,
                     check_separable: bool = True) -> Result:
    """Normalized LR+GD (NLR+GD), the method proposed by Tyurin (AAAI 2025), Section 6.

    ``theta_{t+1} = theta_t - gamma beta_t grad f(theta_t)`` with
    ``beta_t = (mean_i sigma(-m_i))^{-1}``, computed as
    ``theta_{t+1} = theta_t + gamma sum_i p_i y_i x_i`` with ``p = softmax(log sigma(-m))``
    so it never forms ``inf * 0``. Theorem 6.1: separates in at most
    ``R^2/mu^2 + 2 log(2n - 1) / (gamma mu^2)`` iterations. ``gamma = inf`` is the
    Normalized Batch Perceptron.

    Parameters
    ----------
    X : array, shape (n, d)
        Features.
    y : array, shape (n,)
        Labels in ``{-1, +1}``.
    gamma : float
        Step size, ``> 0``; ``inf`` for the exact limit.
    """
    g = _check_gamma(gamma, allow_inf=True)
    mode = NORMALIZED if math.isfinite(g) else NORMALIZED_BATCH
    return _run(X, y, g, mode, max_iter=max_iter, record_every=record_every, w_star=w_star, callback=callback,
                check_separable=check_separable)


def batch_perceptron(X: Any, y: Any, *, max_iter: int = 100_000, record_every: int = 1, w_star: Any = None,
                     callback: Callable[[Result], Any] | None = None, check_separable: bool = True) -> Result:
    """Batch Perceptron (BP), the ``gamma -> inf`` limit of LR+GD (Tyurin, AAAI 2025, Theorem 3.2).

    ``theta_1 = (1/2n) sum_i z_i``; then ``theta_{t+1} = theta_t + (1/n) sum_{i in S_t} z_i``
    with ``S_t = {i : <z_i, theta_t> <= 0}``. Theorem 3.3: at most ``n R^2 / mu^2`` iterations.

    Parameters
    ----------
    X : array, shape (n, d)
        Features.
    y : array, shape (n,)
        Labels in ``{-1, +1}``.
    """
    return _run(X, y, math.inf, BATCH, max_iter=max_iter, record_every=record_every, w_star=w_star,
                callback=callback, check_separable=check_separable)


def normalized_batch_perceptron(X: Any, y: Any, *, max_iter: int = 100_000, record_every: int = 1,
                                w_star: Any = None, callback: Callable[[Result], Any] | None = None,
                                check_separable: bool = True) -> Result:
    """Normalized Batch Perceptron (NBP), the ``gamma -> inf`` limit of Normalized LR+GD.

    Tyurin (AAAI 2025), Section 5: ``theta_{t+1} = theta_t + (1/|S_t|) sum_{i in S_t} z_i``
    from ``theta_0 = 0`` (``S_0`` is the whole set). Theorem 5.3: at most ``R^2/mu^2`` iterations.

    Parameters
    ----------
    X : array, shape (n, d)
        Features.
    y : array, shape (n,)
        Labels in ``{-1, +1}``.
    """
    return _run(X, y, math.inf, NORMALIZED_BATCH, max_iter=max_iter, record_every=record_every, w_star=w_star,
                callback=callback, check_separable=check_separable)


def perceptron(X: Any, y: Any, *, max_iter: int = 100_000, record_every: int = 1, w_star: Any = None,
               callback: Callable[[Result], Any] | None = None, check_separable: bool = True) -> Result:
    """The classical perceptron (Rosenblatt 1958; Novikoff 1962), as stated by Tyurin (AAAI 2025), Theorem 5.2.

    ``theta_{t+1} = theta_t + z_j`` for the smallest index ``j`` in
    ``S_t = {i : <z_i, theta_t> <= 0}``, from ``theta_0 = 0``; one iteration is one
    update. Novikoff: at most ``R^2 / mu^2`` updates.

    Parameters
    ----------
    X : array, shape (n, d)
        Features.
    y : array, shape (n,)
        Labels in ``{-1, +1}``.
    """
    return _run(X, y, math.inf, SINGLE, max_iter=max_iter, record_every=record_every, w_star=w_star,
                callback=callback, check_separable=check_separable)


for _f in (lr_gd, normalized_lr_gd, batch_perceptron, normalized_batch_perceptron, perceptron):
    _f.__doc__ = (_f.__doc__ or "").rstrip() + "\n" + _COMMON_DOC
del _f
