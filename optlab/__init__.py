"""optlab: check optimization theory by experiment.

Reference implementations of optimization methods on problem families with closed-form
answers, and *claims*: a paper's stated rates as executable checks that run the method,
fit the observed rate, compare it with the theorem, and reject a negative control.

Subpackages are imported on first use, so ``import optlab`` is cheap::

    import optlab
    optlab.problems.quadratic(50)      # imports optlab.problems now
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = (
    "backend", "batching", "bilevel", "claims", "classification", "firstorder", "kernels", "methods", "newton",
    "online", "ot", "plots", "problems", "rates", "report", "result", "separability", "sweep",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"optlab.{name}")
    raise AttributeError(f"module 'optlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
