"""The code a cell runs, as a hash: the source of the optlab modules it imports, and the versions.

A cell's key must change when the code that computes it changes, and only then, so that
editing one paper's claims does not throw away the cached cells of another. The modules a
cell runs are found on the source: the closure of the ``optlab`` imports (``import`` and
``from ... import``, at any depth, relative ones included) of its entry modules, plus the
``__init__.py`` of every package on the way, since importing ``optlab.a.b`` runs them. This
over-counts (an import inside a function that a given cell never calls still counts), which
can only cost a recomputation, never a stale result. Imports by string
(``importlib.import_module(name)``) are not seen: the entry modules of a cell therefore name
the modules it loads that way (a method cell names the method's module itself). Files that
matter without their imports (the sweep's own record writer) are passed as ``files``.
"""

from __future__ import annotations

import ast
import hashlib
import platform
import sys
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["code_hash", "describe", "module_closure", "versions"]

_PKG_ROOT = Path(__file__).resolve().parents[1]  # .../optlab
_VERSIONED = ("numpy", "scipy", "numba", "array_api_compat")


def _module_file(name: str) -> Path | None:
    """The source file of module ``optlab.x.y`` (a module or a package's ``__init__.py``)."""
    parts = name.split(".")
    if parts[0] != "optlab":
        return None
    base = _PKG_ROOT.joinpath(*parts[1:])
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _file_module(path: Path) -> tuple[str, bool]:
    """``(module name, is_package)`` of a source file inside the package."""
    rel = path.relative_to(_PKG_ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts.pop()
    return ".".join(parts), is_pkg


def _imports_of(path: Path) -> set[str]:
    """Every optlab module named by an import in ``path`` (with ``from a import b``: ``a`` and ``a.b``)."""
    mod, is_pkg = _file_module(path)
    package = mod if is_pkg else mod.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)  # may be a submodule
    return {m for m in out if m == "optlab" or m.startswith("optlab.")}


def module_closure(entries: Iterable[str]) -> list[Path]:
    """Sorted source files of the optlab modules that importing ``entries`` can run.

    Parameters
    ----------
    entries : iterable of str
        Module names such as ``"optlab.claims.calib"``.

    Returns
    -------
    list of pathlib.Path
        The files, including the ``__init__.py`` of each enclosing package.
    """
    seen: set[Path] = set()
    todo = list(entries)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # the packages on the way run too
            f = _module_file(".".join(parts[:i]))
            if f is not None and f not in seen:
                seen.add(f)
                todo.extend(_imports_of(f))
    return sorted(seen)


@lru_cache(maxsize=256)
def _closure_digest(entries: tuple[str, ...], files: tuple[str, ...] = ()) -> str:
    h = hashlib.sha256()
    for path in sorted({*module_closure(entries), *(_PKG_ROOT / f for f in files)}):
        h.update(str(path.relative_to(_PKG_ROOT.parent)).encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def versions() -> dict[str, str]:
    """Versions of Python, optlab and the numerical libraries a cell's numbers depend on."""
    import importlib

    import optlab

    out = {"python": platform.python_version(), "optlab": optlab.__version__}
    for name in _VERSIONED:
        mod = sys.modules.get(name)
        if mod is None:
            try:
                mod = importlib.import_module(name)
            except ImportError:
                continue
        out[name] = str(getattr(mod, "__version__", "?"))
    return out


def code_hash(entries: Iterable[str], *, files: Iterable[str] = ()) -> str:
    """Hash of the source of the modules that ``entries`` import, of ``files`` (paths inside the
    package, hashed alone, without their imports) and of :func:`versions`.

    Cached per process: a long-running process that edits its own source is not a use case.
    """
    h = hashlib.sha256(_closure_digest(tuple(sorted(set(entries))), tuple(sorted(set(files)))).encode())
    h.update(repr(sorted(versions().items())).encode())
    return h.hexdigest()


def describe(entries: Iterable[str]) -> dict[str, Any]:
    """The files and versions behind :func:`code_hash`, for a person reading the store."""
    return {"files": [str(p.relative_to(_PKG_ROOT.parent)) for p in module_closure(entries)],
            "versions": versions()}
