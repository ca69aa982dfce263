"""The lists of registered methods: one line per method, ``name -> "module:function"``.

``METHODS`` holds the ``method(problem, x0, *, options) -> Result`` methods; each must
pass the contract of ``tests/test_contract.py`` (decreases the objective on a quadratic,
keeps float32/float64, same numbers under ``array_api_strict`` as NumPy, clear errors for
bad input). ``CLASSIFIERS`` holds the ``method(X, y, ...) -> Result`` methods of
:mod:`optlab.classification`, with their own contract in ``tests/test_classification.py``.
A new method joins its contract by one line here. Entries are imported on demand.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["CLASSIFIERS", "METHODS", "load"]

METHODS: dict[str, str] = {
    "gradient_descent": "optlab.firstorder:gradient_descent",
    "accelerated_gradient": "optlab.firstorder:accelerated_gradient",
    "gns": "optlab.newton:gns",
    "reg_newton": "optlab.newton:reg_newton",
    "adan": "optlab.newton:adan",
    "gradient_method": "optlab.newton:gradient_method",
    "newton": "optlab.newton:newton",
}

CLASSIFIERS: dict[str, str] = {
    "lr_gd": "optlab.classification:lr_gd",
    "normalized_lr_gd": "optlab.classification:normalized_lr_gd",
    "batch_perceptron": "optlab.classification:batch_perceptron",
    "normalized_batch_perceptron": "optlab.classification:normalized_batch_perceptron",
    "perceptron": "optlab.classification:perceptron",
}


def load(name: str) -> Callable[..., Any]:
    """Import and return the registered method ``name``."""
    target = METHODS.get(name) or CLASSIFIERS.get(name)
    if target is None:
        raise KeyError(f"unknown method {name!r}; known: {', '.join([*METHODS, *CLASSIFIERS])}")
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)
