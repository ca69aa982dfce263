"""A sweep killed mid-way resumes without losing or recomputing a finished cell; joblib and a
Dask LocalCluster (loopback, 2 workers) give the serial run's numbers."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from optlab.sweep import Store, claim_cells, load_grid, run_sweep, verdicts_from_store

ROOT = Path(__file__).resolve().parents[1]


def _snapshot(store: Store) -> dict[Path, tuple[int, int, bytes]]:
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in store.paths()}


def test_killed_sweep_resumes_without_losing_or_recomputing_a_cell(tmp_path):
    # cells of a fraction of a second each, so the kill lands mid-sweep
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"grid": {"method": "gradient_descent", "problem": "quadratic",
                                         "params": {"dim": 200, "mu": 1e-3}, "options": {"max_iter": 3000,
                                                                                         "gtol": None},
                                         "seeds": 8}}))
    out = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "optlab.cli", "sweep", "--grid", str(grid), "--out", str(out),
                             "--threads", "1", "--no-progress"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    store = Store(out)
    deadline = time.monotonic() + 120
    try:
        while len(store.paths()) < 2:
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "the sweep wrote no cell in 120 s"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    finished = _snapshot(store)
    assert 2 <= len(finished) < 8, "the kill did not land mid-sweep"

    cells = load_grid(grid)
    summary = run_sweep(cells, out, threads=1, progress=False)
    assert (summary.cached, summary.done, summary.failed, summary.corrupt) == (len(finished), 8 - len(finished), 0, 0)
    after = _snapshot(store)
    assert len(after) == 8
    for path, stat in finished.items():  # the same file, untouched
        assert after[path] == stat
    pids = {Path(r.path): r.meta["pid"] for r in store.records()}
    assert {pids[p] for p in finished} == {proc.pid}
    assert {pid for p, pid in pids.items() if p not in finished} == {os.getpid()}
    assert not list(out.rglob("*.tmp"))


@pytest.fixture(scope="module")
def serial_store(tmp_path_factory):
    cells = claim_cells(["calib"], quick=True)
    out = tmp_path_factory.mktemp("serial")
    s = run_sweep(cells, out, threads=1, progress=False)
    assert s.done == len(cells) and not s.failures
    return cells, Store(out)


def _assert_same_records(a: Store, b: Store) -> None:
    ra = {r.key: r for r in a.records()}
    rb = {r.key: r for r in b.records()}
    assert set(ra) == set(rb) and ra
    for key, r in ra.items():
        assert r.ok and rb[key].ok
        assert set(r.columns) == set(rb[key].columns)
        for col, arr in r.columns.items():
            np.testing.assert_array_equal(rb[key].columns[col], arr, err_msg=f"{r.meta['label']}: {col}")
        assert rb[key].meta["info"] == r.meta["info"]
    va, vb = verdicts_from_store(a).verdicts, verdicts_from_store(b).verdicts
    assert [(v.claim.id, v.outcome.fitted, v.control.fitted) for v in va] == \
           [(v.claim.id, v.outcome.fitted, v.control.fitted) for v in vb]


@pytest.mark.parametrize("backend", ["processes", "threads"])
def test_joblib_two_workers_equal_serial(serial_store, tmp_path, backend):
    cells, serial = serial_store
    s = run_sweep(cells, tmp_path / "a", jobs=2, backend=backend, threads=1, progress=False)
    assert s.done == len(cells)
    _assert_same_records(serial, Store(tmp_path / "a"))
    in_parent = backend == "threads"
    assert all((r.meta["pid"] == os.getpid()) == in_parent for r in Store(tmp_path / "a").records())
    # without --threads each worker's Numba/BLAS threads are capped at cores // jobs
    run_sweep(cells[:2], tmp_path / "b", jobs=2, backend=backend, progress=False)
    cap = max(1, (os.cpu_count() or 1) // 2)
    assert [r.meta["threads"] for r in Store(tmp_path / "b").records()] == [cap, cap]


def test_dask_local_cluster_equals_serial(serial_store, tmp_path):
    distributed = pytest.importorskip("distributed")
    import logging

    cells, serial = serial_store
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        s = run_sweep(cells, tmp_path, scheduler=address, progress=False)
        with distributed.Client(address) as client:
            worker_pids = set(client.run(os.getpid).values())
    assert (s.done, s.failed) == (len(cells), 0)
    _assert_same_records(serial, Store(tmp_path))
    pids = {r.meta["pid"] for r in Store(tmp_path).records()}
    assert pids <= worker_pids and os.getpid() not in pids
    again = run_sweep(cells, tmp_path, scheduler="tcp://127.0.0.1:9", progress=False)  # all cached: no connection
    assert again.cached == len(cells)
