"""Array dispatch: take the namespace from the inputs, never from a home-made backend.

Every array function in optlab calls :func:`namespace` on its inputs and uses only
array-API calls on the namespace it gets back, so the same code runs on NumPy, CuPy
and ``array_api_strict``. The Numba kernels are a CPU fast path that a function takes
only when :func:`numba_applies` says its inputs are plain NumPy arrays.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_numpy_array

__all__ = [
    "as_float_array",
    "as_positive_float",
    "cupy",
    "dtype_name",
    "is_floating",
    "namespace",
    "numba_applies",
    "to_numpy",
]


def namespace(*arrays: Any) -> Any:
    """Return the array-API namespace shared by ``arrays`` (``None`` entries are skipped).

    Raises
    ------
    TypeError
        If the arrays come from different libraries.
    """
    return array_namespace(*(a for a in arrays if a is not None))


def cupy() -> Any | None:
    """Return the ``cupy`` module if it is installed and importable, else ``None``.

    CuPy stays optional: it is imported only when asked for, never at ``import optlab``.
    """
    if "cupy" in sys.modules:
        return sys.modules["cupy"]
    try:
        import cupy as cp
    except Exception:  # ImportError, or a CUDA driver error on a machine without a GPU
        return None
    return cp


def numba_applies(*arrays: Any) -> bool:
    """Whether the Numba CPU fast path can take these inputs.

    True only for real ``numpy.ndarray`` objects of a floating dtype (not subclasses
    wrapped by ``array_api_strict``, not CuPy arrays); scalars and ``None`` are ignored.
    """
    seen = False
    for a in arrays:
        if a is None or isinstance(a, (int, float)):
            continue
        if type(a) is not np.ndarray or not is_numpy_array(a):
            return False
        if a.dtype not in (np.float32, np.float64):
            return False
        seen = True
    return seen


def to_numpy(x: Any) -> np.ndarray:
    """Copy any array (NumPy, CuPy, ``array_api_strict``, scalars) to a NumPy array on the host.

    Used for plotting, storage and the trace; never inside an iteration.
    """
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "get") and type(x).__module__.startswith("cupy"):
        return x.get()
    return np.asarray(x)


def is_floating(x: Any) -> bool:
    """Whether ``x`` has a real floating dtype (float32 or float64) in its own namespace."""
    xp = namespace(x)
    return xp.isdtype(x.dtype, "real floating")


def dtype_name(x: Any) -> str:
    """Name of the dtype of ``x`` ('float32', 'float64', ...) independent of the namespace."""
    return str(x.dtype).rsplit(".", 1)[-1]


def as_float_array(x: Any, name: str, *, ndim: int | None = None, size: int | None = None) -> Any:
    """Validate an input array: floating dtype, expected shape, all finite.

    Integer arrays are promoted to the namespace's default float. Raises ``TypeError``
    for non-numeric input and ``ValueError`` (naming ``name``) for a wrong shape or a
    non-finite entry, so that a bad input never turns into a silent NaN later.
    """
    try:
        xp = namespace(x)
    except TypeError:
        x = np.asarray(x)
        if x.dtype == object or not np.issubdtype(x.dtype, np.number):
            raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from None
        xp = namespace(x)
    if xp.isdtype(x.dtype, "complex floating") or xp.isdtype(x.dtype, "bool"):
        raise TypeError(f"{name} must be a real array, got dtype {x.dtype}")
    if not xp.isdtype(x.dtype, "real floating"):
        if not xp.isdtype(x.dtype, "integral"):
            raise TypeError(f"{name} must be a real array, got dtype {x.dtype}")
        x = xp.astype(x, xp.float64)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {tuple(x.shape)}")
    if size is not None and x.shape[0] != size:
        raise ValueError(f"{name} must have length {size}, got shape {tuple(x.shape)}")
    if not bool(xp.all(xp.isfinite(x))):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return x


def as_positive_float(value: Any, name: str) -> float:
    """``float(value)``, which must be positive and finite; ``TypeError``/``ValueError`` naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return v
