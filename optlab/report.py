"""Verdicts to people and machines: the terminal table, the JSON record, the markdown report.

All three are rendered from the same :class:`~optlab.claims.base.Verdict` objects.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from optlab.claims.base import Verdict

__all__ = ["environment", "markdown_table", "text_table", "to_json", "write_report"]

_COLUMNS = ("claim", "paper / theorem", "quantity", "stated", "fitted", "verdict", "control")


def _row(v: Verdict) -> tuple[str, ...]:
    c = v.claim
    control = "rejected" if v.control_verdict == "fail" else "NOT rejected"
    return (c.id, f"{c.paper}, {c.theorem}", c.quantity, c.stated, v.outcome.fitted, v.verdict, control)


def text_table(verdicts: Sequence[Verdict]) -> str:
    """Fixed-width table for the terminal, one line per claim, then a summary line."""
    rows = [_COLUMNS, *(_row(v) for v in verdicts)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    n_ok = sum(v.holds for v in verdicts)
    lines.append(f"\n{n_ok} of {len(verdicts)} claims hold (claim passes and its negative control is rejected)")
    return "\n".join(lines)


def markdown_table(verdicts: Sequence[Verdict]) -> str:
    """The same table in markdown."""
    head = "| " + " | ".join(_COLUMNS) + " |\n|" + "---|" * len(_COLUMNS) + "\n"
    body = "".join("| " + " | ".join(cell.replace("|", "\\|") for cell in _row(v)) + " |\n" for v in verdicts)
    return head + body


def environment() -> dict[str, Any]:
    """Versions, machine and the BLAS-related variables a reader needs to judge timings."""
    import numpy as np

    import optlab

    env: dict[str, Any] = {
        "optlab": optlab.__version__, "python": sys.version.split()[0], "numpy": np.__version__,
        "platform": platform.platform(), "machine": platform.machine(), "cpu_count": os.cpu_count(),
    }
    for mod in ("scipy", "numba", "array_api_compat", "matplotlib"):
        m = sys.modules.get(mod)
        if m is None:
            try:
                m = __import__(mod)
            except ImportError:
                continue
        env[mod] = getattr(m, "__version__", "?")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = os.environ.get(var)
    return env


def to_json(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """The ``optlab verify --json`` document: ``{"claims": [...], "environment": {...}}``."""
    return {"claims": [v.record() for v in verdicts], "environment": environment()}


def write_report(verdicts: Sequence[Verdict], out_dir: str | Path) -> Path:
    """Write ``report.md``, one PNG per claim and ``verify.json`` into ``out_dir``."""
    from optlab.plots import plot_verdict

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts = ["# optlab verification report\n", markdown_table(verdicts), ""]
    for v in verdicts:
        png = plot_verdict(v, out / f"{v.claim.id}.png")
        c = v.claim
        parts += [
            f"## {c.id}\n",
            f"*{c.paper}, {c.theorem}* ({c.kind} check). {c.statement}\n",
            f"- quantity: {c.quantity}; stated: {c.stated}",
            f"- fitted: {v.outcome.fitted}; verdict: **{v.verdict}**",
            f"- negative control: {c.control}; measured: {v.control.fitted}; verdict: **{v.control_verdict}**"
            " (must be fail)",
            f"- seeds: {[s.seed for s in v.series]}; {'quick' if v.quick else 'full'} set; {v.seconds:.2f} s\n",
            f"![{c.id}]({png.name})\n",
        ]
    env = environment()
    parts += ["## Environment\n", *(f"- {k}: {val}" for k, val in env.items()), ""]
    path = out / "report.md"
    path.write_text("\n".join(parts))
    (out / "verify.json").write_text(json.dumps(to_json(verdicts), indent=2))
    return path
