"""A sweep's grid: cells of (claim or method, problem, parameters, seed), each with a stable key.

Two kinds of cell:

- a **claim cell** runs one seed of a registered claim, or of its negative control, in the
  quick or the full set (``Claim.run(seed, quick=..., control=...)``); a claim's problem and
  parameters are the claim's own;
- a **method cell** runs a registered method (:data:`optlab.methods.METHODS`) with its
  options on a problem family of :mod:`optlab.problems` built with its parameters and the
  cell's seed, from the family's ``x_init()``.

Grids are expanded benchopt-style: every list-valued parameter is an axis, and each cell is
named like ``gradient_descent[max_iter=500]@quadratic[dim=20,mu=0.01]#seed=0``. A cell's key is
the SHA-256 of its spec, of the code it runs (:func:`optlab.sweep.codehash.code_hash`) and
of the store's format version; equal keys mean the same computation.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optlab.sweep.codehash import code_hash

__all__ = ["FORMAT_VERSION", "Cell", "claim_cells", "load_grid", "method_cells"]

FORMAT_VERSION = 1
_KINDS = ("claim", "method")
_RECORD_MODULES = ("sweep/execute.py", "sweep/codec.py")


def _frozen(params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None, what: str) -> tuple[tuple[str, Any], ...]:
    items = dict(params or {})
    for k, v in items.items():
        try:
            json.dumps(v, allow_nan=False)
        except (TypeError, ValueError):
            raise TypeError(f"{what}[{k!r}] must be a JSON number, string, bool or list, got {v!r}") from None
        if isinstance(v, list):
            items[k] = tuple(v)
    return tuple(sorted(items.items()))


@dataclass(frozen=True)
class Cell:
    """One run of a sweep.

    Attributes
    ----------
    kind : str
        ``"claim"`` or ``"method"``.
    name : str
        The claim id (``calib.gd_linear``) or the method name (``gradient_descent``).
    seed : int
        The seed (a claim's seed, or the problem family's ``seed`` argument).
    quick, control : bool
        Claim cells: the quick set, and the negative control instead of the claim.
    problem : str
        Method cells: the problem family's factory in :mod:`optlab.problems` (``quadratic``).
    params, options : tuple of (str, value)
        Method cells: the family's parameters and the method's options, sorted by name.
    """

    kind: str
    name: str
    seed: int = 0
    quick: bool = False
    control: bool = False
    problem: str = ""
    params: tuple[tuple[str, Any], ...] = ()
    options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, got {self.kind!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {self.seed!r}")
        if self.kind == "method" and not self.problem:
            raise ValueError(f"method cell {self.name!r} needs a problem")
        object.__setattr__(self, "params", _frozen(self.params, "params"))
        object.__setattr__(self, "options", _frozen(self.options, "options"))

    # -- identity ---------------------------------------------------------------
    def spec(self) -> dict[str, Any]:
        """The cell as a JSON-able dict (what the key hashes, and what the store records)."""
        if self.kind == "claim":
            return {"kind": "claim", "name": self.name, "seed": self.seed, "quick": self.quick,
                    "control": self.control}
        return {"kind": "method", "name": self.name, "seed": self.seed, "problem": self.problem,
                "params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.params},
                "options": {k: list(v) if isinstance(v, tuple) else v for k, v in self.options}}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Cell:
        """Inverse of :meth:`spec`."""
        if spec["kind"] == "claim":
            return cls("claim", spec["name"], int(spec["seed"]), bool(spec["quick"]), bool(spec["control"]))
        return cls("method", spec["name"], int(spec["seed"]), problem=spec["problem"],
                   params=spec.get("params") or {}, options=spec.get("options") or {})

    @property
    def label(self) -> str:
        """A readable name: ``calib.gd_linear[quick,control]#seed=0`` or ``gd[...]@quadratic[...]#seed=0``."""
        if self.kind == "claim":
            flags = ",".join(f for f, on in (("quick", self.quick), ("control", self.control)) if on)
            return f"{self.name}{f'[{flags}]' if flags else ''}#seed={self.seed}"

        def fmt(items: tuple[tuple[str, Any], ...]) -> str:
            return f"[{','.join(f'{k}={v}' for k, v in items)}]" if items else ""

        return f"{self.name}{fmt(self.options)}@{self.problem}{fmt(self.params)}#seed={self.seed}"

    def entry_modules(self) -> list[str]:
        """The modules whose code (with everything they import) this cell runs."""
        if self.kind == "claim":
            return [f"optlab.claims.{self.name.split('.', 1)[0]}"]
        from optlab.methods import METHODS

        target = METHODS.get(self.name)
        if target is None:
            raise KeyError(f"unknown method {self.name!r}; known: {', '.join(METHODS)}")
        return [target.split(":")[0], "optlab.methods", "optlab.problems"]

    def code(self) -> str:
        """Hash of the code this cell runs (see :func:`optlab.sweep.codehash.code_hash`).

        Besides the cell's own modules, only the sweep modules that decide what is stored
        (:mod:`optlab.sweep.execute`, :mod:`optlab.sweep.codec`) count, so that a change to the
        runner, the store's reader or the report does not throw away finished cells.
        """
        return code_hash(self.entry_modules(), files=_RECORD_MODULES)

    def key(self) -> str:
        """SHA-256 of the spec, the code it runs and the store format: the cell's identity in the store."""
        doc = {"cell": self.spec(), "code": self.code(), "format": FORMAT_VERSION}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def claim_cells(patterns: Iterable[str] | None = None, *, quick: bool = False, seeds: int | None = None,
                control: bool = True) -> list[Cell]:
    """The cells of the claims matching ``patterns`` (ids or paper prefixes; all if empty).

    Each claim gives one cell per seed of :meth:`Claim.seed_list` and, with ``control``,
    one per seed of its negative control.
    """
    from optlab.claims import select

    cells = []
    for claim in select(patterns):
        for seed in claim.seed_list(quick, seeds):
            cells.append(Cell("claim", claim.id, seed, quick, False))
            if control:
                cells.append(Cell("claim", claim.id, seed, quick, True))
    return cells


def _axes(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Cartesian product over the list-valued entries; scalars are fixed."""
    names = sorted(params)
    values = [params[n] if isinstance(params[n], list) else [params[n]] for n in names]
    for n, v in zip(names, values, strict=True):
        if not v:
            raise ValueError(f"parameter {n!r} has an empty list of values")
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def method_cells(method: str | Sequence[str], problem: str, *, params: Mapping[str, Any] | None = None,
                 options: Mapping[str, Any] | None = None, seeds: int | Sequence[int] = 1) -> list[Cell]:
    """Expand a method grid: every list in ``params`` or ``options`` is an axis.

    Parameters
    ----------
    method : str or list of str
        Registered method name(s) (see ``optlab list``).
    problem : str
        A problem family factory of :mod:`optlab.problems` (``"quadratic"``).
    params, options : dict, optional
        The family's parameters and the method's options; list values are grid axes.
    seeds : int or list of int
        ``n`` for seeds ``0..n-1``, or the seeds themselves.

    Examples
    --------
    >>> cells = method_cells("gradient_descent", "quadratic", params={"dim": [10, 20]},
    ...                      options={"max_iter": 100}, seeds=2)
    >>> len(cells), cells[0].label
    (4, 'gradient_descent[max_iter=100]@quadratic[dim=10]#seed=0')
    """
    methods = [method] if isinstance(method, str) else list(method)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    cells = []
    for m in methods:
        for p in _axes(params or {}):
            for o in _axes(options or {}):
                cells.extend(Cell("method", m, s, problem=problem, params=p, options=o) for s in seed_list)
    return cells


def load_grid(path: str | Path) -> list[Cell]:
    """Cells from a grid file (JSON, or TOML on Python >= 3.11).

    The file holds one grid or a list of grids under ``grid``; a grid has either
    ``claims`` (ids or prefixes) with optional ``quick``/``seeds``, or ``method``,
    ``problem``, ``params``, ``options``, ``seeds`` as in :func:`method_cells`::

        {"grid": [{"claims": ["calib"], "quick": true},
                  {"method": "gradient_descent", "problem": "quadratic",
                   "params": {"dim": [20, 50], "mu": 0.01}, "options": {"max_iter": 500}, "seeds": 3}]}
    """
    path = Path(path)
    text = path.read_text()
    if path.suffix == ".toml":
        import tomllib

        doc = tomllib.loads(text)
    else:
        doc = json.loads(text)
    grids = doc.get("grid", doc) if isinstance(doc, dict) else doc
    grids = [grids] if isinstance(grids, dict) else list(grids)
    cells: list[Cell] = []
    for g in grids:
        unknown = set(g) - {"claims", "quick", "seeds", "control", "method", "problem", "params", "options"}
        if unknown:
            raise ValueError(f"{path}: unknown grid keys {sorted(unknown)}")
        if "claims" in g:
            cells += claim_cells(g["claims"], quick=bool(g.get("quick", False)), seeds=g.get("seeds"),
                                 control=bool(g.get("control", True)))
        elif "method" in g and "problem" in g:
            cells += method_cells(g["method"], g["problem"], params=g.get("params"), options=g.get("options"),
                                  seeds=g.get("seeds", 1))
        else:
            raise ValueError(f"{path}: a grid needs 'claims', or 'method' and 'problem'")
    return list(dict.fromkeys(cells))  # drop repeats, keep order
