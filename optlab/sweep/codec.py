"""A typed JSON encoding of a claim's ``Series.info``, exact for what claims put there.

Claims keep in ``info`` whatever their ``check`` needs again: numbers, names, lists, dicts,
NumPy arrays, and even whole :class:`~optlab.claims.base.Series` (a control carrying its
variants). The store must give ``check`` back the same objects, so that a verdict rebuilt
from the store equals the one of a direct run. Plain JSON would turn tuples into lists,
arrays into lists and ``Series`` into strings; this encoding tags them instead
(``{"__tuple__": [...]}``, ``{"__ndarray__": [...], "dtype": ..., "shape": ...}``,
``{"__series__": {...}}``), keeps dict order, and writes floats with Python's ``repr``, which
round-trips every float64 exactly (``NaN`` and ``Infinity`` included). An object of any
other type is stored as ``{"__repr__": repr(obj), "type": ...}`` and comes back as that string;
:func:`encode` lists such types so the report can say the round trip was lossy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from optlab.claims.base import Series

__all__ = ["decode", "encode"]

_TAGS = ("__tuple__", "__ndarray__", "__series__", "__dict__", "__repr__")


def encode(obj: Any, lossy: list[str] | None = None) -> Any:
    """JSON-able form of ``obj``; the qualified names of types stored by ``repr`` are appended to ``lossy``."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, list):
        return [encode(v, lossy) for v in obj]
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, lossy) for v in obj]}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and k not in _TAGS for k in obj):
            return {k: encode(v, lossy) for k, v in obj.items()}
        return {"__dict__": [[encode(k, lossy), encode(v, lossy)] for k, v in obj.items()]}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "biuf":
            return {"__ndarray__": obj.ravel().tolist(), "dtype": obj.dtype.str, "shape": list(obj.shape)}
        return {"__ndarray__": [encode(v, lossy) for v in obj.ravel().tolist()], "dtype": "object",
                "shape": list(obj.shape)}
    if isinstance(obj, Series):
        return {"__series__": {"k": encode(obj.k, lossy), "y": encode(obj.y, lossy),
                               "bound": encode(obj.bound, lossy), "seed": int(obj.seed),
                               "info": encode(obj.info, lossy)}}
    name = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if lossy is not None:
        lossy.append(name)
    return {"__repr__": repr(obj), "type": name}


def decode(obj: Any) -> Any:
    """Inverse of :func:`encode` (objects stored by ``repr`` come back as their string)."""
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__tuple__" in obj:
        return tuple(decode(v) for v in obj["__tuple__"])
    if "__ndarray__" in obj:
        if obj["dtype"] == "object":
            a = np.empty(len(obj["__ndarray__"]), dtype=object)
            a[:] = [decode(v) for v in obj["__ndarray__"]]
            return a.reshape(obj["shape"])
        return np.asarray(obj["__ndarray__"], dtype=np.dtype(obj["dtype"])).reshape(obj["shape"])
    if "__series__" in obj:
        s = obj["__series__"]
        return Series(decode(s["k"]), decode(s["y"]), bound=decode(s["bound"]), seed=s["seed"],
                      info=decode(s["info"]))
    if "__dict__" in obj:
        return {decode(k): decode(v) for k, v in obj["__dict__"]}
    if "__repr__" in obj:
        return obj["__repr__"]
    return {k: decode(v) for k, v in obj.items()}
