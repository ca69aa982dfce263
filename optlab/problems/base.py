"""The problem protocol shared by every family.

A problem is an object with ``f``, ``grad``, ``hess`` and ``hvp`` methods of one
point ``x`` (a 1-D array of length ``dim`` from any array-API namespace), the known
minimizer ``x_star`` and optimal value ``f_star`` where there are closed forms, and the
``constants`` that theorems need (``L``, ``mu``, ``L2``, ``R``, ``margin``, ...).

Problems store their data as NumPy arrays and hand each method the copy that matches
the namespace, dtype and device of the point it is called at (:meth:`Problem.data`),
so a problem built once runs on NumPy, CuPy and ``array_api_strict`` alike.
No problem imports a method.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optlab.backend import namespace

__all__ = ["Problem"]


class Problem:
    """Base class of optlab's problem families.

    Subclasses set ``name``, ``dim``, ``constants`` and, when known, ``x_star`` and
    ``f_star`` (NumPy array and float), register their data arrays with
    :meth:`_set_data`, and implement :meth:`f` and :meth:`grad`; :meth:`hess` where the
    family has one. :meth:`hvp` and :meth:`value_and_grad` have generic defaults.

    Attributes
    ----------
    name : str
        Short name with the parameters, e.g. ``"quadratic(d=50, kappa=100)"``.
    dim : int
        Dimension of ``x``.
    x_star : numpy.ndarray or None
        A minimizer in closed form, when there is one.
    f_star : float or None
        The optimal value (infimum), when known.
    x0 : numpy.ndarray or None
        The family's standard starting point (zeros when ``None``).
    constants : dict[str, float]
        Constants a theorem may need: ``L`` (gradient Lipschitz), ``mu`` (strong
        convexity), ``L2`` (Hessian Lipschitz), ``R`` (data radius), ``margin``, ...
    """

    name: str = "problem"
    dim: int = 0
    x_star: np.ndarray | None = None
    f_star: float | None = None
    x0: np.ndarray | None = None
    constants: dict[str, float]

    def __init__(self) -> None:
        self.constants = {}
        self._np_data: dict[str, np.ndarray] = {}
        self._cache: dict[tuple, dict[str, Any]] = {}

    # -- data in the caller's namespace ---------------------------------------------
    def _set_data(self, **arrays: np.ndarray) -> None:
        """Register the NumPy data arrays of the problem (float64)."""
        for key, value in arrays.items():
            self._np_data[key] = np.asarray(value, dtype=np.float64)
        self._cache.clear()

    def data(self, like: Any) -> dict[str, Any]:
        """The problem's data arrays in the namespace, dtype and device of ``like``.

        Converted once per (namespace, dtype, device) and cached, so the cost is paid
        at the first call, not per iteration.
        """
        xp = namespace(like)
        key = (xp.__name__, str(like.dtype), str(like.device))
        out = self._cache.get(key)
        if out is None:
            out = {k: xp.asarray(v, dtype=like.dtype, device=like.device) for k, v in self._np_data.items()}
            self._cache[key] = out
        return out

    # -- the oracle ---------------------------------------------------------------
    def f(self, x: Any) -> Any:
        """Objective value at ``x`` (a 0-D array of the namespace of ``x``)."""
        raise NotImplementedError

    def grad(self, x: Any) -> Any:
        """Gradient at ``x``, same namespace, dtype and shape as ``x``."""
        raise NotImplementedError

    def hess(self, x: Any) -> Any:
        """Hessian at ``x`` as a dense ``(dim, dim)`` array."""
        raise NotImplementedError(f"{type(self).__name__} has no Hessian")

    def hvp(self, x: Any, v: Any) -> Any:
        """Hessian-vector product; the default forms the dense Hessian."""
        return self.hess(x) @ v

    def gap(self, x: Any) -> Any:
        """``f(x) - f_star``; families override it where a direct form avoids cancellation."""
        if self.f_star is None:
            raise ValueError(f"{self.name}: f_star is not known, so the gap is undefined")
        return self.f(x) - self.f_star

    def value_and_grad(self, x: Any) -> tuple[Any, Any]:
        """``(f(x), grad(x))``; families override it where the two share work."""
        return self.f(x), self.grad(x)

    # -- conveniences ---------------------------------------------------------------
    def x_init(self, like: Any = None) -> Any:
        """The family's standard starting point ``x0`` (zeros unless the family sets one),
        as NumPy, or in the namespace and dtype of ``like``."""
        x0 = self.x0 if self.x0 is not None else np.zeros(self.dim)
        if like is None:
            return x0.copy()
        return namespace(like).asarray(x0, dtype=like.dtype, device=like.device)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
