"""Compile the Numba kernels of the OT solvers before anything is timed."""

from __future__ import annotations

import functools

import numpy as np


@functools.cache
def warm_up(dtype: type = np.float64) -> None:
    """Compile (or load from Numba's disk cache) every kernel of :func:`optlab.ot.sinkhorn` (both methods) and
    :func:`optlab.ot.sns` for NumPy inputs of ``dtype``, once per process.

    Call it before timing a solver: on a cold cache the first call compiles for about a second, which would
    otherwise land in the first run's trace times.

    Parameters
    ----------
    dtype : {numpy.float64, numpy.float32}
        The dtype of the cost matrices that will be timed.
    """
    from optlab.ot.newton import sns
    from optlab.ot.sinkhorn import sinkhorn

    n = 12
    C = np.random.default_rng(0).random((n, n)).astype(dtype)
    a = np.full(n, 1.0 / n, dtype=dtype)
    reg = 1.0 / 1200.0
    sns(a, a, C, reg, max_iter=30)  # 20 Sinkhorn sweeps, then Newton steps: every SNS kernel
    sinkhorn(a, a, C, reg, max_iter=3)
    sinkhorn(a, a, C, 0.5, method="kernel", max_iter=3)
