"""The ``optlab`` command line: ``list``, ``verify``, ``sweep``, ``report``, ``repro``, ``bench``.

Exit status: 0 when everything asked for holds, 1 when a claim fails (or its negative
control is not rejected) or a sweep has failed cells, 2 for unknown ids or bad options (one
line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, exit 2, no usage dump
        raise _UsageError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _build_parser() -> _Parser:
    p = _Parser(prog="optlab", description="Check optimization theory by experiment.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    sub.add_parser("list", help="list the claims and the methods")

    v = sub.add_parser("verify", help="run claims and their negative controls")
    v.add_argument("select", nargs="*", metavar="ID_OR_PREFIX",
                   help="claim ids (calib.gd_linear) or paper prefixes (calib); all claims if omitted")
    v.add_argument("--quick", action="store_true", help="the quick set: fewer seeds, smaller sizes")
    v.add_argument("--seeds", type=_positive_int, help="seeds per claim (deterministic claims keep one)")
    v.add_argument("--jobs", type=_positive_int, default=1, help="claims run in parallel (processes)")
    v.add_argument("--report", metavar="DIR", help="write report.md, figures and verify.json into DIR")
    v.add_argument("--json", metavar="FILE", help="write the machine-readable record to FILE")
    v.add_argument("--no-progress", action="store_true", help="no progress bar")

    s = sub.add_parser("sweep", help="run a grid of cells into a cached, resumable results store")
    s.add_argument("select", nargs="*", metavar="ID_OR_PREFIX",
                   help="claims to sweep (all if omitted and no --grid): every seed of each and of its control")
    s.add_argument("--out", required=True, metavar="DIR", help="the results store (reused: finished cells are cached)")
    s.add_argument("--grid", metavar="FILE", help="a grid file (JSON/TOML): method x problem x parameters x seeds")
    s.add_argument("--quick", action="store_true", help="the claims' quick set")
    s.add_argument("--seeds", type=_positive_int, help="seeds per claim (deterministic claims keep one)")
    s.add_argument("--jobs", type=_positive_int, default=1, help="local workers (joblib)")
    s.add_argument("--backend", choices=("processes", "threads"), default="processes",
                   help="joblib backend for --jobs > 1 (threads: for cells in nogil Numba kernels or BLAS)")
    s.add_argument("--scheduler", metavar="ADDR", help="run on a Dask cluster (tcp://host:port) instead")
    s.add_argument("--threads", type=_positive_int,
                   help="Numba/BLAS threads per cell (default: cores / jobs; 1 on Dask)")
    s.add_argument("--format", choices=("parquet", "npz"), help="file format of new cells (default: parquet "
                   "when pyarrow is installed)")
    s.add_argument("--no-fsync", action="store_true",
                   help="do not flush each cell to disk (faster for tiny cells; a machine crash then costs "
                        "recomputation, never a misread cell)")
    s.add_argument("--retry-failed", action="store_true", help="recompute cells stored as failed")
    s.add_argument("--report", action="store_true", help="render the report into DIR afterwards")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")

    rp = sub.add_parser("report", help="render the report of the claims stored by a sweep")
    rp.add_argument("dir", metavar="DIR", help="the results store of 'optlab sweep --out DIR'")
    rp.add_argument("--out", metavar="OUTDIR", help="write the report there (default: DIR)")

    r = sub.add_parser("repro", help="regenerate a paper's figures (runs paper_repro/NAME.py)")
    r.add_argument("name", nargs="?", help="script name or prefix; lists the scripts if omitted")
    r.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    r.add_argument("--out", default="figures", help="output directory (default: figures/)")

    b = sub.add_parser("bench", help="run a benchmark script (benchmarks/NAME.py)")
    b.add_argument("name", nargs="?", help="benchmark name or prefix; lists them if omitted")
    return p


def _cmd_list() -> int:
    from optlab.claims import all_claims
    from optlab.methods import CLASSIFIERS, METHODS

    claims = all_claims()
    width = max(len(cid) for cid in claims)
    print("claims:")
    for cid, c in claims.items():
        print(f"  {cid.ljust(width)}  {c.kind:<10} {c.paper}, {c.theorem}: {c.statement}")
    print("methods:")
    for name, target in (METHODS | CLASSIFIERS).items():
        print(f"  {name.ljust(width)}  {target}")
    return 0


def _run_one(claim_id: str, quick: bool, seeds: int | None):  # top level: picklable for joblib
    from optlab.claims import get, run_claim

    return run_claim(get(claim_id), quick=quick, seeds=seeds)


def _cmd_verify(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from optlab.claims import select
    from optlab.report import text_table, to_json, write_report

    try:
        claims = select(args.select)
    except KeyError as e:
        raise _UsageError(e.args[0]) from None
    ids = [c.id for c in claims]
    bar = tqdm(total=len(ids), desc="verify", unit="claim", disable=args.no_progress or None, file=sys.stderr)
    verdicts = []
    if args.jobs > 1 and len(ids) > 1:
        from joblib import Parallel, delayed

        gen = Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
            delayed(_run_one)(cid, args.quick, args.seeds) for cid in ids)
        for v in gen:
            verdicts.append(v)
            bar.set_postfix_str(f"{v.claim.id}: {v.verdict}")
            bar.update()
        verdicts.sort(key=lambda v: v.claim.id)
    else:
        for cid in ids:
            bar.set_postfix_str(cid)
            verdicts.append(_run_one(cid, args.quick, args.seeds))
            bar.update()
    bar.close()
    print(text_table(verdicts))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(to_json(verdicts), indent=2))
        print(f"wrote {args.json}")
    if args.report:
        path = write_report(verdicts, args.report)
        print(f"wrote {path} and {path.with_suffix('.html')}")
    return 0 if all(v.holds for v in verdicts) else 1


def _cmd_sweep(args: argparse.Namespace) -> int:
    from optlab.sweep import claim_cells, load_grid, run_sweep

    try:
        cells = load_grid(args.grid) if args.grid else []
        if args.select or not args.grid:
            cells += claim_cells(args.select, quick=args.quick, seeds=args.seeds)
    except KeyError as e:
        raise _UsageError(e.args[0]) from None
    except (OSError, ValueError, TypeError) as e:
        raise _UsageError(f"--grid {args.grid}: {e}") from None
    try:
        summary = run_sweep(cells, args.out, jobs=args.jobs, backend=args.backend, scheduler=args.scheduler,
                            threads=args.threads, retry_failed=args.retry_failed, progress=not args.no_progress,
                            format=args.format, fsync=not args.no_fsync)
    except (OSError, ImportError) as e:  # unreachable scheduler, missing dask/pyarrow
        raise _UsageError(str(e)) from None
    print(summary.line())
    for label, err in summary.failures.items():
        print(f"  failed: {label}: {err.splitlines()[0] if err else ''}")
    if summary.failures:
        print(f"  (tracebacks are stored in {args.out}/cells; 'optlab report {args.out}' shows them)")
    rc = 1 if summary.failed else 0
    if args.report:
        rc = max(rc, _render(args.out, None))
    return rc


def _render(store_dir: str, out_dir: str | None) -> int:
    from optlab.report import report_from_store, text_table

    try:
        path, stored = report_from_store(store_dir, out_dir)
    except FileNotFoundError as e:
        raise _UsageError(str(e)) from None
    print(text_table(stored.verdicts))
    for cid in stored.skipped:
        print(f"  skipped {cid}: no longer a registered claim")
    print(f"wrote {path} and {path.with_suffix('.html')}")
    return 0 if all(v.holds for v in stored.verdicts) else 1


def _scripts(folder: str) -> dict[str, Path]:
    root = Path(__file__).resolve().parents[1] / folder
    if not root.is_dir():
        raise _UsageError(f"{folder}/ not found next to the package: run from a source checkout (pip install -e .)")
    return {p.stem: p for p in sorted(root.glob("*.py")) if not p.stem.startswith("_")}


def _pick(folder: str, name: str | None) -> Path | None:
    scripts = _scripts(folder)
    if name is None:
        print("\n".join(scripts))
        return None
    hits = [p for stem, p in scripts.items() if stem == name] or \
           [p for stem, p in scripts.items() if stem.startswith(name)]
    if len(hits) != 1:
        what = "matches no script" if not hits else "is ambiguous"
        raise _UsageError(f"{name!r} {what} in {folder}/ (have: {', '.join(scripts)})")
    return hits[0]


def _cmd_repro(args: argparse.Namespace) -> int:
    script = _pick("paper_repro", args.name)
    if script is None:
        return 0
    cmd = [sys.executable, str(script), "--out", args.out] + (["--quick"] if args.quick else [])
    return subprocess.call(cmd)


def _cmd_bench(args: argparse.Namespace) -> int:
    script = _pick("benchmarks", args.name)
    return 0 if script is None else subprocess.call([sys.executable, str(script)])


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``optlab`` console script; returns the exit status."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if args.version:
            from optlab import __version__

            print(__version__)
            return 0
        if args.command is None:
            parser.print_help()
            return 2
        return {"list": lambda: _cmd_list(), "verify": lambda: _cmd_verify(args),
                "sweep": lambda: _cmd_sweep(args), "report": lambda: _render(args.dir, args.out),
                "repro": lambda: _cmd_repro(args), "bench": lambda: _cmd_bench(args)}[args.command]()
    except _UsageError as e:
        print(f"optlab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("optlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
