"""The sweep runner's cost: overhead per cell, speed-up of ``--jobs 2``, and a re-run that is all cached.

A script, not a test: ``python benchmarks/bench_sweep.py [--claims calib lrgd gns] [--repeats 20]
[--unset-openblas]``.

In one run it prints:

- **overhead per cell** against the compute of a small cell (``calib.gd_linear`` quick,
  seed 0, a few milliseconds): the cell's own compute (``Claim.run``, median of ``--repeats``),
  the key (spec + code hash + versions; the source closure is hashed once per process, so
  this is the per-cell part), the atomic store write (temporary file, fsync, rename) in
  Parquet and in ``.npz``, and the verified read that a cached cell costs; and the overhead
  as a fraction of the cell's compute. Also measured in place: a serial ``run_sweep`` of
  that cell over ``--seeds`` seeds, minus the cells' own recorded compute, per cell;
- **speed-up of ``--jobs 2`` over serial** on the quick set of the selected claims (default:
  every registered claim), each as the user runs it: ``python -m optlab.cli sweep ... --quick``
  in a fresh process and a fresh store (interpreter start, imports and worker start-up
  included), after one untimed warm-up run that fills Numba's disk cache;
- **re-running the finished sweep** (every cell cached and verified): the same command's wall
  time, and the runner alone in this process (``run_sweep`` on the finished store).

Timings are medians of single runs on whatever machine runs this; on a loaded machine they
are noisy: compare the ratios printed side by side in one run. OPENBLAS_CORETYPE /
OPENBLAS_L2_SIZE are reported as set and never changed; ``--unset-openblas`` runs everything
once more in a subprocess with both removed.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from optlab.claims import get, select
from optlab.sweep import Cell, Store, claim_cells, have_pyarrow, run_sweep
from optlab.sweep.execute import run_cell

_OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
SMALL = "calib.gd_linear"
ROOT = Path(__file__).resolve().parents[1]


def _median(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def overhead(repeats: int, seeds: int) -> None:
    claim = get(SMALL)
    cell = Cell("claim", SMALL, 0, True, False)
    compute = _median(lambda: claim.run(0, quick=True, control=False), repeats)
    key_t = _median(cell.key, repeats)
    record = run_cell(cell, cell.key(), code=cell.code())
    n_rows = len(record["columns"]["k"])
    print(f"small cell: {SMALL} quick seed 0, {n_rows} recorded iterations")
    print(f"  compute (Claim.run)            {compute * 1e3:8.2f} ms")
    print(f"  key (spec + code + versions)   {key_t * 1e3:8.2f} ms")
    formats = ["parquet", "npz"] if have_pyarrow() else ["npz"]
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in formats:
            for fsync in (True, False):
                store = Store(Path(tmp) / fmt, format=fmt, fsync=fsync)
                write = _median(lambda store=store: store.write(record), repeats)
                read = _median(lambda store=store: store.lookup(cell, record["meta"]["key"]), repeats)
                ratio = (key_t + write) / compute
                print(f"  {fmt:<8}{'' if fsync else ' --no-fsync':<11} write {write * 1e3:7.2f} ms   verified read "
                      f"{read * 1e3:5.2f} ms   overhead (key + write) / compute = {ratio:.2f}")
        cells = [Cell("claim", SMALL, s, True, False) for s in range(seeds)]
        for fsync in (True, False):
            store = Store(Path(tmp) / f"inplace-{fsync}", fsync=fsync)
            t = time.perf_counter()
            run_sweep(cells, store, progress=False)
            wall = time.perf_counter() - t
            own = sum(r.meta["seconds"] for r in store.records())
            print(f"  in place{'' if fsync else ', --no-fsync'}: serial run_sweep of {seeds} such cells: {wall:.3f} s "
                  f"wall, {own:.3f} s in the cells: runner overhead {(wall - own) / seeds * 1e3:.2f} ms per cell "
                  f"({(wall - own) / own:.2f} of the compute)")


def _cli(args: list[str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "optlab.cli", "sweep", *args, "--no-progress"], cwd=ROOT,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr[-2000:])
    print(f"    $ optlab sweep {' '.join(args)}  ->  {proc.stdout.strip().splitlines()[0]}  [{wall:.1f} s wall]")
    return wall


def parallel(claims: list[str]) -> None:
    ids = [c.id for c in select(claims)]
    n_cells = len(claim_cells(claims, quick=True))
    print(f"\nquick set: {len(ids)} claims, {n_cells} cells ({', '.join(claims) or 'all registered claims'})")
    with tempfile.TemporaryDirectory() as tmp:
        _cli([*claims, "--quick", "--out", f"{tmp}/warm"])  # fills Numba's disk cache; not timed
        serial = _cli([*claims, "--quick", "--out", f"{tmp}/serial"])
        serial1 = _cli([*claims, "--quick", "--out", f"{tmp}/serial1", "--threads", "1"])
        jobs2 = _cli([*claims, "--quick", "--out", f"{tmp}/jobs2", "--jobs", "2"])
        cached = _cli([*claims, "--quick", "--out", f"{tmp}/jobs2", "--jobs", "2"])
        cells = claim_cells(claims, quick=True)
        times = []
        for _ in range(3):  # the first call in a process also imports the claims and hashes their source
            t = time.perf_counter()
            s = run_sweep(cells, f"{tmp}/jobs2", progress=False)
            times.append(time.perf_counter() - t)
    print(f"  speed-up of --jobs 2 over serial: {serial / jobs2:.2f}x ({serial:.1f} s -> {jobs2:.1f} s; "
          f"{os.cpu_count()} cores); over serial with --threads 1: {serial1 / jobs2:.2f}x ({serial1:.1f} s)")
    warm = statistics.median(times[1:])
    print(f"  re-run, all cached: {cached:.2f} s wall for the command ({cached / serial:.3f} of the serial run); "
          f"runner alone: {times[0]:.3f} s first call in a process, then {warm:.3f} s for {s.cached} cached cells "
          f"({warm / max(s.cached, 1) * 1e3:.2f} ms/cell)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", nargs="*", default=[], help="ids or prefixes for the quick set (default: all)")
    parser.add_argument("--repeats", type=int, default=20, help="timed repeats for the per-cell numbers (median)")
    parser.add_argument("--seeds", type=int, default=30, help="cells in the in-place overhead run")
    parser.add_argument("--skip-parallel", action="store_true", help="only the per-cell overhead")
    parser.add_argument("--unset-openblas", action="store_true",
                        help="afterwards, run again in a subprocess with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"pyarrow {'yes' if have_pyarrow() else 'no'}")
    for var in _OPENBLAS_VARS:
        print(f"{var}={os.environ.get(var, '<unset>')}")
    overhead(max(1, args.repeats), max(1, args.seeds))
    if not args.skip_parallel:
        parallel(args.claims)
    if args.unset_openblas:
        env = {k: v for k, v in os.environ.items() if k not in _OPENBLAS_VARS}
        print("\n" + "=" * 20, f"again with {' and '.join(_OPENBLAS_VARS)} unset (subprocess)", "=" * 20, flush=True)
        cmd = [sys.executable, os.path.abspath(__file__), "--repeats", str(args.repeats), "--seeds", str(args.seeds),
               "--claims", *args.claims] + (["--skip-parallel"] if args.skip_parallel else [])
        subprocess.run(cmd, env=env, check=True)


if __name__ == "__main__":
    main()
