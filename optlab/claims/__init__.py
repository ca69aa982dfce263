"""Claims: the papers' stated rates as executable checks, each with a negative control.

A claim id is ``<paper>.<name>`` (prefixes ``calib``, ``gns``, ``lrgd``, ``borep``,
``adadagrad``, ``sns``, ``omd``). The registry imports the claim modules listed in
``CLAIM_MODULES`` when first asked, so ``import optlab`` stays cheap. A paper's claims live
in the module named by its prefix (``optlab/claims/omd.py`` holds the ``omd.*`` claims), so a
new paper's module is found without editing this file.

>>> from optlab.claims import select, run_claim
>>> [c.id for c in select(["calib"])]                        # doctest: +SKIP
['calib.agd_sublinear', 'calib.gd_linear', 'calib.gd_sublinear']
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Iterable

from optlab.claims.base import Claim, Outcome, Series, Verdict, run_claim

__all__ = ["CLAIM_MODULES", "PREFIXES", "Claim", "Outcome", "Series", "Verdict", "all_claims", "get",
           "run_claim", "select"]

PREFIXES = ("calib", "gns", "lrgd", "borep", "adadagrad", "sns", "omd")
CLAIM_MODULES: tuple[str, ...] = tuple(
    f"optlab.claims.{p}" for p in PREFIXES if importlib.util.find_spec(f"optlab.claims.{p}") is not None)

_REGISTRY: dict[str, Claim] = {}
_LOADED: set[str] = set()


def _load(modname: str) -> None:
    """Import one claim module and register its claims (once)."""
    if modname in _LOADED:
        return
    mod = importlib.import_module(modname)
    for obj in vars(mod).values():
        if (inspect.isclass(obj) and issubclass(obj, Claim) and obj.__module__ == modname
                and getattr(obj, "id", None)):  # skip shared bases without an id
            claim = obj()
            if claim.id in _REGISTRY:
                raise RuntimeError(f"duplicate claim id {claim.id!r}")
            if claim.id.split(".", 1)[0] not in PREFIXES:
                raise RuntimeError(f"claim id {claim.id!r} has an unknown prefix")
            _REGISTRY[claim.id] = claim
    _LOADED.add(modname)


def all_claims() -> dict[str, Claim]:
    """Every registered claim, by id, sorted."""
    for modname in CLAIM_MODULES:
        _load(modname)
    return dict(sorted(_REGISTRY.items()))


def _claims_for(patterns: list[str]) -> dict[str, Claim]:
    """The claims of the modules these patterns can name: ``omd`` or ``omd.x`` loads only ``omd``."""
    mods = {f"optlab.claims.{pat.split('.', 1)[0]}" for pat in patterns}
    if not mods <= set(CLAIM_MODULES):
        return all_claims()
    for modname in sorted(mods):
        _load(modname)
    return dict(sorted(_REGISTRY.items()))


def get(claim_id: str) -> Claim:
    """The claim with this id; ``KeyError`` naming the known ids otherwise."""
    claims = _claims_for([claim_id])
    if claim_id not in claims:
        claims = all_claims()
    if claim_id not in claims:
        raise KeyError(f"unknown claim {claim_id!r}; known: {', '.join(claims)}")
    return claims[claim_id]


def select(patterns: Iterable[str] | None = None) -> list[Claim]:
    """Claims matching ids or bare prefixes (``"calib"`` selects all ``calib.*``); all if empty.

    Raises ``KeyError`` with one clear message for a pattern that matches nothing.
    """
    patterns = list(patterns or [])
    if not patterns:
        return list(all_claims().values())
    claims = _claims_for(patterns)
    chosen: dict[str, Claim] = {}
    for pat in patterns:
        hits = [c for cid, c in claims.items() if cid == pat or cid.startswith(pat + ".")]
        if not hits:
            hint = "a paper prefix with no claims yet" if pat in PREFIXES else "not a claim id or prefix"
            raise KeyError(f"{pat!r} matches no claim ({hint}); run 'optlab list' to see the claims")
        chosen.update((c.id, c) for c in hits)
    return [chosen[k] for k in sorted(chosen)]
