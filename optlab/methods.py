"""The list of registered methods: one line per method, ``name -> "module:function"``.

Every method listed here must pass the contract of ``tests/test_contract.py``
(decreases the objective on a quadratic, keeps float32/float64, same numbers under
``array_api_strict`` as NumPy, clear errors for bad input). A new method joins the
contract by one line here. Entries are imported on demand, so listing is cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["METHODS", "load"]

METHODS: dict[str, str] = {
    "gradient_descent": "optlab.firstorder:gradient_descent",
    "accelerated_gradient": "optlab.firstorder:accelerated_gradient",
}


def load(name: str) -> Callable[..., Any]:
    """Import and return the registered method ``name``."""
    try:
        target = METHODS[name]
    except KeyError:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(METHODS)}") from None
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)
