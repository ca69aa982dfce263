"""The sweep runner and its store: keys, caching, failures, corruption, thread caps, codecs.

Kill-and-resume and the parallel backends (joblib, Dask) are in ``test_sweep_parallel.py``.
"""

import json
import os

import numpy as np
import pytest

from optlab.claims import Series, get
from optlab.cli import main
from optlab.sweep import Cell, CorruptCellError, Store, claim_cells, codehash, have_pyarrow, method_cells, run_sweep
from optlab.sweep.codec import decode, encode

FORMATS = ["npz", pytest.param("parquet", marks=pytest.mark.skipif(not have_pyarrow(), reason="no pyarrow"))]


# -- grid and keys ------------------------------------------------------------------------
def test_method_grid_expands_list_axes_and_labels():
    cells = method_cells(["gradient_descent", "accelerated_gradient"], "quadratic",
                         params={"dim": [10, 20], "mu": 0.01}, options={"max_iter": [50, 100]}, seeds=[0, 3])
    assert len(cells) == 2 * 2 * 2 * 2
    assert cells[0].label == "gradient_descent[max_iter=50]@quadratic[dim=10,mu=0.01]#seed=0"
    assert {c.seed for c in cells} == {0, 3}
    assert all(Cell.from_spec(c.spec()) == c for c in cells)
    with pytest.raises(ValueError, match="empty list"):
        method_cells("gradient_descent", "quadratic", params={"dim": []})
    with pytest.raises(TypeError, match="params"):
        Cell("method", "gradient_descent", problem="quadratic", params={"dim": object()})
    with pytest.raises(ValueError, match="seed"):
        Cell("claim", "calib.gd_linear", seed=-1)


def test_claim_cells_cover_claim_and_control_seeds():
    cells = claim_cells(["calib.gd_linear"], quick=True)
    n = get("calib.gd_linear").quick_seeds
    assert len(cells) == 2 * n
    assert sorted((c.seed, c.control) for c in cells) == sorted((s, b) for s in range(n) for b in (False, True))
    with pytest.raises(KeyError):
        claim_cells(["calib.nope"])


def test_key_is_stable_and_changes_with_inputs_and_versions(monkeypatch):
    a = Cell("claim", "calib.gd_linear", 0, True, False)
    assert a.key() == Cell("claim", "calib.gd_linear", 0, True, False).key()
    others = [Cell("claim", "calib.gd_linear", 1, True, False), Cell("claim", "calib.gd_linear", 0, False, False),
              Cell("claim", "calib.gd_linear", 0, True, True), Cell("claim", "calib.gd_sublinear", 0, True, False)]
    assert len({a.key(), *(c.key() for c in others)}) == 5
    key = a.key()
    real = codehash.versions
    monkeypatch.setattr(codehash, "versions", lambda: {**real(), "numpy": "0.0"})
    assert a.key() != key


def test_code_hash_follows_the_imports_and_only_them(tmp_path, monkeypatch):
    pkg = tmp_path / "optlab"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from optlab.sub import b\nfrom . import helper\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    import optlab.deep\n    return 1\n")
    (pkg / "deep.py").write_text("X = 1\n")
    (pkg / "helper.py").write_text("")
    (pkg / "unrelated.py").write_text("Y = 2\n")
    monkeypatch.setattr(codehash, "_PKG_ROOT", pkg)
    codehash._closure_digest.cache_clear()
    try:
        files = [p.relative_to(pkg).as_posix() for p in codehash.module_closure(["optlab.a"])]
        assert files == ["__init__.py", "a.py", "deep.py", "helper.py", "sub/__init__.py", "sub/b.py"]
        h0 = codehash.code_hash(["optlab.a"])
        (pkg / "unrelated.py").write_text("Y = 3\n")
        codehash._closure_digest.cache_clear()
        assert codehash.code_hash(["optlab.a"]) == h0
        (pkg / "deep.py").write_text("X = 2\n")
        codehash._closure_digest.cache_clear()
        h1 = codehash.code_hash(["optlab.a"])
        assert h1 != h0
        with_file = codehash.code_hash(["optlab.a"], files=["unrelated.py"])  # a file hashed alone
        (pkg / "unrelated.py").write_text("Y = 4\n")
        codehash._closure_digest.cache_clear()
        assert with_file != h1 != codehash.code_hash(["optlab.a"], files=["unrelated.py"]) != with_file
    finally:
        codehash._closure_digest.cache_clear()


def test_real_closures_are_per_paper():
    calib = {p.name for p in codehash.module_closure(["optlab.claims.calib"])}
    assert {"calib.py", "firstorder.py", "rates.py", "base.py"} <= calib
    assert "gns.py" not in calib and "lrgd.py" not in calib and "cli.py" not in calib
    # the runner, the store's reader and the report are not part of a cell's code: editing them keeps the cache
    cell = Cell("claim", "calib.gd_linear")
    assert not any("sweep" in p.parts or p.name == "report.py"
                   for p in codehash.module_closure(cell.entry_modules()))


# -- store ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_sweep_stores_long_format_and_reruns_all_cached(tmp_path, fmt):
    cells = claim_cells(["calib.gd_linear"], quick=True)
    first = run_sweep(cells, tmp_path, progress=False, format=fmt)
    assert (first.total, first.done, first.cached, first.failed) == (len(cells), len(cells), 0, 0)
    again = run_sweep(cells, tmp_path, progress=False, format=fmt)
    assert (again.done, again.cached, again.failed) == (0, len(cells), 0)
    store = Store(tmp_path, format=fmt)
    assert all(p.suffix == f".{fmt}" for p in store.paths()) and len(store.paths()) == len(cells)
    claim = get("calib.gd_linear")
    rows = store.rows()
    assert {"key", "name", "seed", "control", "quick", "k", "y", "bound"} <= set(rows)
    total = 0
    for cell in cells:
        direct = claim.run(cell.seed, quick=True, control=cell.control)
        rec, corrupt = store.lookup(cell, cell.key())
        assert not corrupt and rec.ok and rec.meta["versions"]["numpy"] == np.__version__
        np.testing.assert_array_equal(rec.columns["y"], direct.y)
        np.testing.assert_array_equal(rec.columns["bound"], direct.bound)
        mine = (rows["seed"] == cell.seed) & (rows["control"] == cell.control)
        np.testing.assert_array_equal(rows["k"][mine], direct.k)
        total += len(direct.k)
    assert len(rows["k"]) == total


def test_method_cells_store_the_trace(tmp_path):
    cells = method_cells("gradient_descent", "quadratic", params={"dim": 10}, options={"max_iter": 30}, seeds=2)
    s = run_sweep(cells, tmp_path, progress=False)
    assert s.done == 2 and not s.failures
    rec, _ = Store(tmp_path).lookup(cells[1], cells[1].key())
    assert {"iteration", "gap", "grad_norm", "k", "y"} <= set(rec.columns)
    assert len(rec.columns["k"]) == 31 and rec.meta["info"]["nit"] == 30
    np.testing.assert_array_equal(rec.columns["y"], rec.columns["gap"])


def test_failed_cell_keeps_its_traceback_and_the_sweep_goes_on(tmp_path, capsys):
    good = method_cells("gradient_descent", "quadratic", params={"dim": 5}, options={"max_iter": 10}, seeds=2)
    bad = method_cells("gradient_descent", "no_such_family", seeds=1)
    s = run_sweep([*bad, *good], tmp_path, progress=False)
    assert (s.done, s.failed) == (2, 1)
    assert "no_such_family" in s.failures[bad[0].label]
    rec, _ = Store(tmp_path).lookup(bad[0], bad[0].key())
    assert rec.status == "failed" and "Traceback" in rec.meta["traceback"] and "KeyError" in rec.meta["traceback"]
    again = run_sweep([*bad, *good], tmp_path, progress=False)  # same code: not retried
    assert (again.done, again.cached, again.failed) == (0, 2, 1)
    retried = run_sweep([*bad, *good], tmp_path, progress=False, retry_failed=True)
    assert (retried.done, retried.cached, retried.failed) == (0, 2, 1)
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"grid": [{"method": "gradient_descent", "problem": "no_such_family"}]}))
    assert main(["sweep", "--grid", str(grid), "--out", str(tmp_path / "cli"), "--no-progress"]) == 1
    assert "failed: gradient_descent@no_such_family#seed=0: KeyError" in capsys.readouterr().out


def _damage(path, how):
    data = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "overwritten":
        i = len(data) // 2
        data[i:i + 16] = bytes(16)
        path.write_bytes(bytes(data))
    elif path.suffix == ".npz":  # "tampered": well-formed, numbers changed after the checksum was taken
        with np.load(path) as z:
            arrays = dict(z)
        arrays["col:y"] = arrays["col:y"] * (1 + 1e-12)
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        t = pq.read_table(path)
        i = t.column_names.index("y")
        t = t.set_column(i, "y", pa.array(t.column("y").to_numpy() * (1 + 1e-12))).replace_schema_metadata(
            t.schema.metadata)
        pq.write_table(t, path)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("how", ["truncated", "overwritten", "tampered"])
def test_corrupt_file_is_detected_quarantined_and_recomputed(tmp_path, fmt, how):
    cells = claim_cells(["calib.gd_linear"], quick=True)
    run_sweep(cells, tmp_path, progress=False, format=fmt)
    store = Store(tmp_path, format=fmt)
    victim = cells[1]
    path = store._existing(victim, victim.key())[0]
    before = store.read(path).columns["y"].copy()
    _damage(path, how)
    with pytest.raises(CorruptCellError):
        store.read(path)
    with pytest.warns(RuntimeWarning, match="corrupt cell file"):
        s = run_sweep(cells, tmp_path, progress=False, format=fmt)
    assert (s.corrupt, s.done, s.cached) == (1, 1, len(cells) - 1)
    assert len(list((tmp_path / "corrupt").glob(f"{path.name}.*.why.txt"))) == 1
    np.testing.assert_array_equal(store.read(path).columns["y"], before)


def test_stale_temporaries_are_removed_live_ones_kept(tmp_path):
    cells = claim_cells(["calib.gd_linear"], quick=True, seeds=1)
    run_sweep(cells, tmp_path, progress=False)
    folder = tmp_path / "cells" / "calib.gd_linear"
    dead = folder / ".x.parquet.999999999.abcd1234.tmp"
    live = folder / f".y.parquet.{os.getpid()}.abcd1234.tmp"
    dead.write_bytes(b"partial")
    live.write_bytes(b"partial")
    assert Store(tmp_path).clean_temporaries() == 1
    assert not dead.exists() and live.exists()
    assert len(Store(tmp_path).paths()) == len(cells)  # temporaries are never read as cells


# -- threads and codec ----------------------------------------------------------------------
def test_cap_threads_limits_numba_and_blas_and_restores():
    import numba
    from threadpoolctl import threadpool_info

    from optlab.sweep.execute import cap_threads

    before = numba.get_num_threads()
    with cap_threads(1):
        assert numba.get_num_threads() == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info())
    assert numba.get_num_threads() == before


def test_codec_round_trips_what_claims_keep_in_info():
    inner = Series([1.0, 2.0], [0.5, 0.25], seed=3, info={"variant": "stalled", "t": (1, 2)})
    info = {"also": [inner], "grid": np.arange(6, dtype=np.int32).reshape(2, 3), "q": np.float64(0.97),
            "flags": (True, None), 2: "int key", "nan": float("nan"), "inf": -np.inf, "neg0": -0.0,
            "tiny": 5e-324, "order": {"soba": 1, "stocbio": 2}}
    lossy = []
    back = decode(json.loads(json.dumps(encode(info, lossy))))
    assert not lossy
    assert list(back) == list(info) and back[2] == "int key" and back["flags"] == (True, None)
    assert back["grid"].dtype == np.int32 and np.array_equal(back["grid"], info["grid"])
    assert np.isnan(back["nan"]) and back["inf"] == -np.inf and str(back["neg0"]) == "-0.0"
    assert back["tiny"] == 5e-324 and list(back["order"]) == ["soba", "stocbio"]
    s = back["also"][0]
    assert isinstance(s, Series) and s.seed == 3 and s.info == inner.info and np.array_equal(s.y, inner.y)
    assert decode(json.loads(json.dumps(encode({"f": object()}, lossy))))["f"].startswith("<object")
    assert lossy == ["builtins.object"]


# -- command line ---------------------------------------------------------------------------
def test_cli_sweep_then_report(tmp_path, capsys):
    out = str(tmp_path / "s")
    argv = ["sweep", "calib.gd_linear", "--quick", "--seeds", "2", "--out", out, "--no-progress", "--threads", "1"]
    assert main(argv) == 0
    assert "4 cells: 4 computed, 0 cached" in capsys.readouterr().out
    assert main([*argv, "--report"]) == 0
    text = capsys.readouterr().out
    assert "4 cells: 0 computed, 4 cached" in text and "calib.gd_linear" in text and "rejected" in text
    assert (tmp_path / "s" / "report.html").stat().st_size > 1000
    assert main(["report", out, "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "report.md").exists()


@pytest.mark.parametrize("argv, needle", [
    (["sweep", "calib.nope", "--out", "X"], "calib.nope"),
    (["sweep", "--grid", "/no/such/grid.json", "--out", "X"], "grid"),
    (["sweep", "calib", "--jobs", "0", "--out", "X"], "positive integer"),
    (["sweep", "calib"], "--out"),
    (["report", "/no/such/store"], "no stored cells"),
])
def test_cli_errors_are_one_line_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err
