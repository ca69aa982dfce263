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

__all__ = ["environment", "markdown_table", "report_from_store", "text_table", "to_json", "write_report"]

_COLUMNS = ("claim", "paper / theorem", "quantity", "stated", "fitted", "verdict", "control")


def _row(v: Verdict) -> tuple[str, ...]:
    c = v.claim
    control = "rejected" if v.control_verdict == "fail" else "NOT rejected"
    if "error" in v.control.numbers:  # rebuilt from a store whose cells failed: nothing was checked
        control = "not checked"
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


def _details(v: Verdict, notes: Sequence[str]) -> list[tuple[str, str]]:
    """The per-claim lines shared by the markdown and the HTML page: ``(label, text)``."""
    c = v.claim
    lines = [("quantity", c.quantity), ("stated", c.stated), ("fitted", v.outcome.fitted), ("verdict", v.verdict),
             ("negative control", c.control), ("control measured", v.control.fitted),
             ("control verdict", "not checked" if "error" in v.control.numbers else
              f"{v.control_verdict} (must be fail)"),
             ("seeds", f"{[s.seed for s in v.series]}; {'quick' if v.quick else 'full'} set; {v.seconds:.2f} s")]
    return lines + [("note", n) for n in notes]


def _markdown(verdicts: Sequence[Verdict], figures: dict[str, Path | None], notes: dict[str, list[str]],
              env: dict[str, Any], runs: Sequence[dict[str, Any]]) -> str:
    parts = ["# optlab verification report\n", markdown_table(verdicts), ""]
    for v in verdicts:
        c = v.claim
        parts += [f"## {c.id}\n", f"*{c.paper}, {c.theorem}* ({c.kind} check). {c.statement}\n"]
        for label, text in _details(v, notes.get(c.id, [])):
            if "\n" in text:
                parts.append(f"- {label}:\n\n```\n{text.rstrip()}\n```\n")
            else:
                bold = label in ("verdict", "control verdict")
                parts.append(f"- {label}: {'**' + text + '**' if bold else text}")
        png = figures.get(c.id)
        parts.append(f"\n![{c.id}]({png.name})\n" if png is not None else "\n(no figure: nothing was measured)\n")
    parts += ["## Environment\n", *(f"- {k}: {val}" for k, val in env.items()), ""]
    if runs:
        parts += ["### Where the cells ran\n", *(f"- {_run_line(r)}" for r in runs), ""]
    return "\n".join(parts)


def _run_line(run: dict[str, Any]) -> str:
    rest = ", ".join(f"{k} {v}" for k, v in run.items() if k not in ("cells", "host"))
    return f"{run.get('cells', '?')} cells on {run.get('host', '?')}: {rest}"


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:0.85em}th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;
vertical-align:top}th{background:#f3f3f3}.pass{color:#176b1c;font-weight:bold}.fail{color:#a11;font-weight:bold}
img{max-width:100%;height:auto}pre{background:#f6f6f6;padding:0.5em;overflow-x:auto;font-size:0.8em}
section.claim{margin-top:2em;border-top:1px solid #ddd}"""


def _html(verdicts: Sequence[Verdict], figures: dict[str, Path | None], notes: dict[str, list[str]],
          env: dict[str, Any], runs: Sequence[dict[str, Any]]) -> str:
    import base64
    from html import escape

    def cell(text: str, cls: str = "") -> str:
        return f"<td{f' class={cls!r}' if cls else ''}>{escape(text)}</td>"

    rows = []
    for v in verdicts:
        r = _row(v)
        rows.append("<tr>" + "".join(cell(t) for t in r[:5]) + cell(r[5], r[5])
                    + cell(r[6], "pass" if r[6] == "rejected" else "fail") + "</tr>")
    n_ok = sum(v.holds for v in verdicts)
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>optlab verification report</title>", f"<style>{_CSS}</style></head><body>",
           "<h1>optlab verification report</h1>",
           f"<p>{n_ok} of {len(verdicts)} claims hold (claim passes and its negative control is rejected).</p>",
           '<table id="verdicts"><thead><tr>' + "".join(f"<th>{escape(h)}</th>" for h in _COLUMNS)
           + "</tr></thead><tbody>", *rows, "</tbody></table>"]
    for v in verdicts:
        c = v.claim
        out += [f'<section class="claim" id="{escape(c.id)}"><h2>{escape(c.id)}</h2>',
                f"<p><em>{escape(c.paper)}, {escape(c.theorem)}</em> ({escape(c.kind)} check). "
                f"{escape(c.statement)}</p><ul>"]
        for label, text in _details(v, notes.get(c.id, [])):
            body = f"<pre>{escape(text)}</pre>" if "\n" in text else escape(text)
            out.append(f"<li>{escape(label)}: {body}</li>")
        out.append("</ul>")
        png = figures.get(c.id)
        if png is not None:
            data = base64.b64encode(png.read_bytes()).decode("ascii")
            out.append(f'<img alt="{escape(c.id)}" src="data:image/png;base64,{data}">')
        else:
            out.append("<p>(no figure: nothing was measured)</p>")
        out.append("</section>")
    out += ["<h2>Environment</h2><ul>", *(f"<li>{escape(str(k))}: {escape(str(val))}</li>" for k, val in env.items()),
            "</ul>"]
    if runs:
        out += ["<h3>Where the cells ran</h3><ul>", *(f"<li>{escape(_run_line(r))}</li>" for r in runs), "</ul>"]
    out.append("</body></html>")
    return "\n".join(out)


def write_report(verdicts: Sequence[Verdict], out_dir: str | Path, *,
                 notes: dict[str, list[str]] | None = None, runs: Sequence[dict[str, Any]] = ()) -> Path:
    """Write ``report.md``, ``report.html``, one PNG per claim and ``verify.json`` into ``out_dir``.

    The HTML page is self-contained (its figures are embedded as base64 data URIs), so it can
    be sent as one file. Both pages hold the verdict table (one row per claim), each claim's
    figure (median curve across seeds, 10-90% band, fitted rate, stated bound, and its
    negative control), notes (``claim id -> lines``: stale cells, errors) and the environment;
    ``runs`` lists where the cells of a sweep ran (see :mod:`optlab.sweep`).

    Returns
    -------
    pathlib.Path
        The path of ``report.md``.
    """
    from optlab.plots import plot_verdict

    notes = notes or {}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures = {v.claim.id: plot_verdict(v, out / f"{v.claim.id}.png") if v.series and v.control_series else None
               for v in verdicts}
    env = environment()
    path = out / "report.md"
    path.write_text(_markdown(verdicts, figures, notes, env, runs))
    (out / "report.html").write_text(_html(verdicts, figures, notes, env, runs))
    (out / "verify.json").write_text(json.dumps(to_json(verdicts), indent=2))
    return path


def report_from_store(store_dir: str | Path, out_dir: str | Path | None = None) -> tuple[Path, Any]:
    """Render every claim stored by a sweep in ``store_dir`` (see :func:`write_report`).

    Returns the path of ``report.md`` (in ``out_dir``, default ``store_dir``) and the
    :class:`optlab.sweep.StoredVerdicts` it was drawn from.
    """
    from optlab.sweep import Store, verdicts_from_store

    store = Store(store_dir)
    if not store.paths():
        raise FileNotFoundError(f"{store_dir}: no stored cells (run 'optlab sweep ... --out {store_dir}' first)")
    stored = verdicts_from_store(store)
    notes = dict(stored.notes)
    path = write_report(stored.verdicts, out_dir if out_dir is not None else store_dir, notes=notes, runs=stored.runs)
    return path, stored
