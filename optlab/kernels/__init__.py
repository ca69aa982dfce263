"""Shared Numba building blocks for the CPU fast paths of optlab.

:mod:`optlab.kernels.expm` provides a branch-free, vectorizable ``exp`` accurate to
about 0.7 ulp over the whole float64 range (this Numba has no SVML, so ``math.exp`` in a
loop runs scalar) and the kernels built on it: element-wise ``exp`` and softplus,
log-sum-exp of a vector, of the rows and of the columns of a matrix. The Sinkhorn,
logistic and softmax kernels build on these.

Two levels:

* Numba kernels (``exp_scalar``, ``exp_into``, ``log1pexp_into``, ``logsumexp_1d``,
  ``logsumexp_rows``, ``logsumexp_cols``) take NumPy arrays and can be called from other
  ``@njit`` code. They compile lazily on first use and are cached on disk.
* Dispatching functions (``vexp``, ``logsumexp``) take an array of any array-API
  library: NumPy float arrays go to the kernels, anything else (CuPy,
  ``array_api_strict``, ...) to its own namespace; the result has the input's type.
"""

from optlab.kernels.expm import (
    exp_into,
    exp_scalar,
    log1pexp_into,
    logsumexp,
    logsumexp_1d,
    logsumexp_cols,
    logsumexp_rows,
    vexp,
)

__all__ = [
    "exp_into",
    "exp_scalar",
    "log1pexp_into",
    "logsumexp",
    "logsumexp_1d",
    "logsumexp_cols",
    "logsumexp_rows",
    "vexp",
]
