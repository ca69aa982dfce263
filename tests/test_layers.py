"""Layers only point down: core <- problems, kernels <- methods <- claims <- sweeps, report, CLI.

No method imports a problem family; no problem imports a method; the core imports
nothing above it. Checked on the source, so a new module is covered as soon as it exists.
"""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "optlab"
CORE = {"optlab.backend", "optlab.result", "optlab.rates", "optlab.kernels", "optlab.separability"}
ABOVE_METHODS = ("optlab.claims", "optlab.sweep", "optlab.report", "optlab.plots", "optlab.cli")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m == "optlab" or m.startswith("optlab.")}


def _module(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module(p): _imports(p) for p in sorted(PKG.rglob("*.py"))}


def _under(mod: str, roots) -> bool:
    return any(mod == r or mod.startswith(r + ".") for r in roots)


@pytest.mark.parametrize("mod", sorted(m for m in MODULES if _under(m, CORE)))
def test_core_imports_only_core(mod):
    bad = {m for m in MODULES[mod] if not _under(m, CORE)}
    assert not bad, f"{mod} (core) imports {bad}"


@pytest.mark.parametrize("mod", sorted(m for m in MODULES if _under(m, ["optlab.problems"])))
def test_problems_import_no_method(mod):
    bad = {m for m in MODULES[mod] if not _under(m, CORE | {"optlab.problems"})}
    assert not bad, f"problem module {mod} imports {bad}"


METHOD_MODULES = sorted(m for m in MODULES if not _under(m, CORE | {"optlab.problems", *ABOVE_METHODS})
                        and m not in ("optlab", "optlab.methods"))


@pytest.mark.parametrize("mod", METHOD_MODULES)
def test_methods_import_no_problem_and_no_claim(mod):
    bad = {m for m in MODULES[mod] if _under(m, ["optlab.problems", *ABOVE_METHODS])}
    assert not bad, f"method module {mod} imports {bad}"


def test_the_checks_see_modules():
    assert "optlab.firstorder" in METHOD_MODULES and "optlab.problems.quadratic" in MODULES
