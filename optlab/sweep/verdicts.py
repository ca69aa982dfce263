"""From the store back to verdicts: each claim's stored series, checked by the claim's own ``check``.

The report is drawn from these verdicts, so the figure and the verdict come from the same
stored trace (nothing is run again). Which cells make a claim's verdict, when the store holds
several runs of it [our choice]: the cells computed by the current code if there are any,
else those of the most recent code (the report then says they are stale); the full set
before the quick one; within that, every seed for which both the claim and its negative
control are stored. A claim with a failed cell, or whose ``check`` raises, gets a failing
verdict whose ``fitted`` text names the error, and the traceback goes into its notes.
"""

from __future__ import annotations

import traceback
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optlab.claims.base import Claim, Outcome, Series, Verdict
from optlab.sweep.codec import decode
from optlab.sweep.grid import Cell
from optlab.sweep.store import CellRecord, Store

__all__ = ["StoredVerdicts", "verdicts_from_records", "verdicts_from_store"]


@dataclass
class StoredVerdicts:
    """Verdicts rebuilt from a store, with what a reader should know about them.

    Attributes
    ----------
    verdicts : list of Verdict
        One per claim found in the store, sorted by id.
    notes : dict
        ``claim id -> lines`` (stale code, missing seeds, errors with tracebacks).
    runs : list of dict
        The distinct environments (versions, host) the cells ran in, with cell counts.
    skipped : list of str
        Stored claim ids that are no longer registered.
    """

    verdicts: list[Verdict] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _series(rec: CellRecord) -> Series:
    c = rec.columns
    return Series(c["k"], c["y"], bound=c.get("bound") if rec.meta.get("has_bound", "bound" in c) else None,
                  seed=int(rec.meta.get("series_seed", rec.cell.seed)), info=decode(rec.meta.get("info") or {}))


def _error_verdict(claim: Claim, quick: bool, text: str, seconds: float) -> Verdict:
    out = Outcome(False, text, numbers={"error": text})
    return Verdict(claim, out, Outcome(False, "not checked", numbers={"error": text}), [], [], seconds, quick)


def _choose(groups: dict[tuple[bool, str], list[CellRecord]], current: str) -> tuple[bool, str]:
    def rank(item: tuple[tuple[bool, str], list[CellRecord]]) -> tuple[bool, bool, str]:
        (quick, code), recs = item
        return code == current, not quick, max(r.meta.get("finished", "") for r in recs)

    return max(groups.items(), key=rank)[0]


def verdicts_from_records(records: Iterable[CellRecord]) -> StoredVerdicts:
    """Group claim cells by claim and check each group (see the module doc)."""
    from optlab.claims import all_claims

    registry = all_claims()
    by_claim: dict[str, dict[tuple[bool, str], list[CellRecord]]] = defaultdict(lambda: defaultdict(list))
    envs: dict[str, dict[str, Any]] = {}
    for rec in records:
        env = {**rec.meta.get("versions", {}), "host": rec.meta.get("host", "?")}
        envs.setdefault(repr(sorted(env.items())), {**env, "cells": 0})["cells"] += 1
        if rec.cell.kind == "claim":
            by_claim[rec.cell.name][(rec.cell.quick, rec.meta.get("code") or "?")].append(rec)
    out = StoredVerdicts(runs=list(envs.values()))
    for cid in sorted(by_claim):
        if cid not in registry:
            out.skipped.append(cid)
            continue
        claim = registry[cid]
        notes: list[str] = []
        current = Cell("claim", cid).code()
        quick, code = _choose(by_claim[cid], current)
        recs = by_claim[cid][(quick, code)]
        lossy = sorted({t for r in recs for t in r.meta.get("info_lossy", [])})
        if lossy:
            notes.append(f"info objects of type {', '.join(lossy)} were stored as text: check() saw strings")
        if code != current:
            notes.append(f"stale: these cells ran older code ({code[:12]}; current {current[:12]}): "
                         "re-run the sweep to refresh them")
        seconds = float(np.nansum([r.meta.get("seconds", np.nan) for r in recs]))
        failed = sorted((r for r in recs if not r.ok), key=lambda r: (r.cell.control, r.cell.seed))
        if failed:
            first = failed[0]
            for r in failed:
                notes.append(f"cell {r.meta.get('label', r.cell.label)} failed:\n{r.meta.get('traceback') or ''}")
            out.verdicts.append(_error_verdict(claim, quick, f"error in {len(failed)} cell(s): "
                                               f"{first.meta.get('error')}", seconds))
            out.notes[cid] = notes
            continue
        runs: dict[bool, dict[int, CellRecord]] = {False: {}, True: {}}
        for r in recs:
            runs[r.cell.control][r.cell.seed] = r
        seeds = sorted(set(runs[False]) & set(runs[True]))
        if set(runs[False]) != set(runs[True]):
            notes.append(f"incomplete: claim seeds {sorted(runs[False])}, control seeds {sorted(runs[True])}; "
                         f"using {seeds}")
        if not seeds:
            out.verdicts.append(_error_verdict(claim, quick, "incomplete: no seed with both claim and control",
                                               seconds))
            out.notes[cid] = notes
            continue
        series = [_series(runs[False][s]) for s in seeds]
        control_series = [_series(runs[True][s]) for s in seeds]
        try:
            outcome, control = claim.check(series), claim.check(control_series)
        except Exception as e:
            notes.append(f"check raised:\n{traceback.format_exc()}")
            out.verdicts.append(_error_verdict(claim, quick, f"check raised {type(e).__name__}: {e}", seconds))
        else:
            out.verdicts.append(Verdict(claim, outcome, control, series, control_series, seconds, quick))
        if notes:
            out.notes[cid] = notes
    return out


def verdicts_from_store(store: Store | str) -> StoredVerdicts:
    """:func:`verdicts_from_records` over every readable record of ``store`` (a corrupt file is
    quarantined with a warning and left out)."""
    store = store if isinstance(store, Store) else Store(store)
    return verdicts_from_records(store.records())
