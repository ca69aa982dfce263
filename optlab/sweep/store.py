"""The results store: one self-checking file per cell, written atomically, in long format.

Layout of a store directory::

    DIR/cells/<claim id or method>/<key>.parquet   (or <key>.npz without pyarrow)
    DIR/corrupt/                                    files that failed their check, kept for a post-mortem

A cell's file holds one row per recorded iteration (long format): the cell's identity
(``key``, ``kind``, ``name``, ``problem``, ``params``, ``options``, ``seed``, ``quick``,
``control``) repeated on each row, then its float64 columns (``k``, ``y``, ``bound`` for a
claim; the trace fields for a method). The cell's metadata (status, traceback of a failure,
versions, wall time, host, info) is a JSON document in the file (Parquet key-value metadata,
or an entry of the ``.npz``) together with a SHA-256 checksum of that document and of every
column's bytes.

Why this shape [our choice]: one file per cell makes a finished cell durable the moment it
is renamed into place (write to a temporary name, ``fsync``, :func:`os.replace`), so killing
a sweep loses at most the cells being computed, and a concurrent reader never sees half a
file. A file that is truncated, overwritten or otherwise fails to read or to match its
checksum raises :class:`CorruptCellError`; the runner moves it to ``corrupt/`` and
recomputes the cell, it is never read silently. Parquet (pyarrow) is used when installed,
with page checksums on; otherwise the portable fallback is NumPy's ``.npz`` (a zip, whose
CRCs catch damage too), read with ``allow_pickle=False``. Both formats are read either way.
A directory of the Parquet files is also a dataset that pyarrow, pandas or DuckDB read
directly (``pyarrow.dataset.dataset(DIR / "cells")``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from optlab.sweep.grid import Cell

__all__ = ["CellRecord", "CorruptCellError", "Store", "have_pyarrow"]

_EXT = {"parquet": ".parquet", "npz": ".npz"}
_ID_COLUMNS = ("key", "kind", "name", "problem", "params", "options", "seed", "quick", "control")
_META_KEY, _SUM_KEY = b"optlab.meta", b"optlab.checksum"
_TMP_RE = re.compile(r"^\.(?P<stem>.+)\.(?P<pid>\d+)\.[0-9a-f]+\.tmp$")


class CorruptCellError(Exception):
    """A cell file that cannot be read or does not match its checksum."""


def have_pyarrow() -> bool:
    """Whether pyarrow (and so the Parquet format) is available."""
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class CellRecord:
    """A stored cell: its identity, its columns (one entry per recorded iteration) and metadata."""

    key: str
    cell: Cell
    columns: dict[str, np.ndarray]
    meta: dict[str, Any]
    path: Path | None = None

    @property
    def status(self) -> str:
        """``"ok"`` or ``"failed"``."""
        return self.meta["status"]

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _checksum(meta_json: bytes, columns: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(meta_json)
    for name in sorted(columns):
        a = np.ascontiguousarray(columns[name], dtype=np.float64)
        h.update(b"\0" + name.encode() + b"\0" + str(a.shape).encode() + b"\0")
        h.update(a.tobytes())
    return h.hexdigest()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "_"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class Store:
    """A directory of cell files (see the module doc).

    Parameters
    ----------
    root : str or Path
        The store directory (created on first write).
    format : {"parquet", "npz"}, optional
        Format of new files; Parquet when pyarrow is installed, else ``npz``.
    fsync : bool
        Flush each file and its directory to disk before and after the rename (about 10 ms
        a cell on a typical disk). Without it a killed sweep still loses nothing (the data
        is in the OS's cache); after a crash of the machine itself a file may be missing or
        damaged, which the checksum catches, so the cell is recomputed, never misread.
    """

    def __init__(self, root: str | Path, *, format: str | None = None, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = bool(fsync)
        if format is None:
            format = "parquet" if have_pyarrow() else "npz"
        if format not in _EXT:
            raise ValueError(f"format must be one of {tuple(_EXT)}, got {format!r}")
        if format == "parquet" and not have_pyarrow():
            raise ImportError("format='parquet' needs pyarrow: pip install 'optlab[parquet]'")
        self.format = format

    @property
    def cells_dir(self) -> Path:
        return self.root / "cells"

    def _dir(self, cell: Cell) -> Path:
        return self.cells_dir / _safe(cell.name)

    # -- writing ------------------------------------------------------------------
    def write(self, record: dict[str, Any] | CellRecord) -> Path:
        """Write a record atomically (temporary file, fsync, rename) and return its path.

        ``record`` is what :func:`optlab.sweep.execute.run_cell` returns, or a :class:`CellRecord`.
        """
        if isinstance(record, CellRecord):
            columns, meta = record.columns, record.meta
        else:
            columns, meta = record["columns"], record["meta"]
        cell = Cell.from_spec(meta["cell"])
        key = meta["key"]
        columns = {n: np.ascontiguousarray(a, dtype=np.float64) for n, a in columns.items()}
        lengths = {a.shape for a in columns.values()}
        if len(lengths) > 1 or any(len(s) != 1 for s in lengths):
            raise ValueError(f"columns must be 1-d arrays of one length, got {lengths}")
        meta_json = json.dumps(meta).encode()  # insertion order kept: claims' info dicts come back as they were
        checksum = _checksum(meta_json, columns)
        folder = self._dir(cell)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{key}{_EXT[self.format]}"
        tmp = folder / f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            with open(tmp, "wb") as f:
                if self.format == "parquet":
                    self._write_parquet(f, cell, key, columns, meta_json, checksum)
                else:
                    np.savez(f, __meta__=np.frombuffer(meta_json, dtype=np.uint8),
                             __checksum__=np.frombuffer(checksum.encode(), dtype=np.uint8),
                             **{f"col:{n}": a for n, a in columns.items()})
                f.flush()
                if self.fsync:
                    os.fsync(f.fileno())
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                tmp.unlink()
        if self.fsync:
            _fsync_dir(folder)
        for other in _EXT.values():  # one file per key: drop a copy in the other format
            if other != final.suffix:
                folder.joinpath(f"{key}{other}").unlink(missing_ok=True)
        return final

    @staticmethod
    def _write_parquet(f: Any, cell: Cell, key: str, columns: dict[str, np.ndarray], meta_json: bytes,
                       checksum: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        n = len(next(iter(columns.values()))) if columns else 0
        spec = cell.spec()
        ids = {"key": key, "kind": cell.kind, "name": cell.name, "problem": cell.problem,
               "params": json.dumps(spec.get("params", {}), sort_keys=True),
               "options": json.dumps(spec.get("options", {}), sort_keys=True)}
        arrays = {c: pa.array([v] * n, pa.string()).dictionary_encode() for c, v in ids.items()}
        arrays["seed"] = pa.array(np.full(n, cell.seed, dtype=np.int64))
        arrays["quick"] = pa.array(np.full(n, cell.quick, dtype=bool))
        arrays["control"] = pa.array(np.full(n, cell.control, dtype=bool))
        arrays.update({c: pa.array(a) for c, a in sorted(columns.items())})
        table = pa.table(arrays).replace_schema_metadata({_META_KEY: meta_json, _SUM_KEY: checksum.encode()})
        pq.write_table(table, f, write_page_checksum=True)

    # -- reading ------------------------------------------------------------------
    def read(self, path: str | Path) -> CellRecord:
        """Read and verify one cell file; :class:`CorruptCellError` if it fails its check."""
        path = Path(path)
        try:
            if path.suffix == ".parquet":
                meta_json, checksum, columns = self._read_parquet(path)
            else:
                with np.load(path, allow_pickle=False) as z:
                    meta_json = z["__meta__"].tobytes()
                    checksum = z["__checksum__"].tobytes().decode()
                    columns = {n[4:]: z[n] for n in z.files if n.startswith("col:")}
            meta = json.loads(meta_json)
        except ImportError:
            raise ImportError(f"{path} is Parquet: reading it needs pyarrow (pip install 'optlab[parquet]')") from None
        except Exception as e:  # any failure to decode is damage: truncation, overwrite, bad zip...
            raise CorruptCellError(f"{path}: unreadable ({type(e).__name__}: {e})") from e
        if _checksum(meta_json, columns) != checksum:
            raise CorruptCellError(f"{path}: checksum mismatch")
        if meta.get("key") != path.stem:
            raise CorruptCellError(f"{path}: holds key {meta.get('key')!r}, not its name's")
        return CellRecord(meta["key"], Cell.from_spec(meta["cell"]), columns, meta, path)

    @staticmethod
    def _read_parquet(path: Path) -> tuple[bytes, str, dict[str, np.ndarray]]:
        import pyarrow.parquet as pq

        table = pq.read_table(path, page_checksum_verification=True)
        md = table.schema.metadata or {}
        if _META_KEY not in md or _SUM_KEY not in md:
            raise ValueError("no optlab metadata")
        meta_json, checksum = md[_META_KEY], md[_SUM_KEY].decode()
        cell = Cell.from_spec(json.loads(meta_json)["cell"])
        for col, want in (("seed", cell.seed), ("quick", cell.quick), ("control", cell.control),
                          ("name", cell.name), ("kind", cell.kind)):
            vals = set(table.column(col).to_pylist())
            if vals - {want}:
                raise ValueError(f"column {col} holds {vals}, metadata says {want!r}")
        columns = {n: table.column(n).to_numpy() for n in table.column_names if n not in _ID_COLUMNS}
        return meta_json, checksum, columns

    def _existing(self, cell: Cell, key: str) -> list[Path]:
        folder = self._dir(cell)
        return [p for ext in _EXT.values() if (p := folder / f"{key}{ext}").exists()]

    def lookup(self, cell: Cell, key: str) -> tuple[CellRecord | None, bool]:
        """``(record, corrupt)``: the stored record of ``key``, or ``None``; a file that fails its
        check is moved to ``corrupt/`` and reported with ``corrupt=True``."""
        corrupt = False
        for path in self._existing(cell, key):
            try:
                return self.read(path), corrupt
            except CorruptCellError as e:
                self.quarantine(path, str(e))
                corrupt = True
        return None, corrupt

    def quarantine(self, path: Path, why: str) -> Path:
        """Move a damaged file out of the store (kept under ``corrupt/`` with a note)."""
        dest_dir = self.root / "corrupt"
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / f"{path.name}.{uuid.uuid4().hex[:8]}"
        shutil.move(str(path), dest)
        dest.with_name(dest.name + ".why.txt").write_text(why + "\n")
        warnings.warn(f"corrupt cell file moved to {dest}: {why}", RuntimeWarning, stacklevel=3)
        return dest

    def paths(self) -> list[Path]:
        """Every cell file in the store, sorted."""
        if not self.cells_dir.is_dir():
            return []
        return sorted(p for ext in _EXT.values() for p in self.cells_dir.glob(f"*/*{ext}"))

    def records(self, *, on_corrupt: str = "quarantine") -> Iterator[CellRecord]:
        """Every readable record; a corrupt file is quarantined (``on_corrupt="quarantine"``,
        with a warning) or raises (``"raise"``)."""
        for path in self.paths():
            try:
                yield self.read(path)
            except CorruptCellError as e:
                if on_corrupt == "raise":
                    raise
                self.quarantine(path, str(e))

    def clean_temporaries(self) -> int:
        """Remove temporary files left by writers that are no longer running; return how many."""
        n = 0
        if not self.cells_dir.is_dir():
            return 0
        for p in self.cells_dir.glob("*/.*.tmp"):
            m = _TMP_RE.match(p.name)
            if m and not _pid_alive(int(m["pid"])):
                p.unlink(missing_ok=True)
                n += 1
        return n

    # -- long format ----------------------------------------------------------------
    def rows(self) -> dict[str, np.ndarray]:
        """All cells' rows, concatenated: one row per cell and recorded iteration.

        Identity columns as in the files; a data column a cell lacks is NaN on its rows.
        Failed cells have no rows (see :meth:`index`).
        """
        recs = [r for r in self.records() if r.ok]
        data_cols = sorted({c for r in recs for c in r.columns})
        out: dict[str, list[np.ndarray]] = {c: [] for c in (*_ID_COLUMNS, *data_cols)}
        for r in recs:
            n = len(next(iter(r.columns.values()))) if r.columns else 0
            spec = r.cell.spec()
            ids = {"key": r.key, "kind": r.cell.kind, "name": r.cell.name, "problem": r.cell.problem,
                   "params": json.dumps(spec.get("params", {}), sort_keys=True),
                   "options": json.dumps(spec.get("options", {}), sort_keys=True)}
            for c, v in ids.items():
                out[c].append(np.full(n, v, dtype=object))
            out["seed"].append(np.full(n, r.cell.seed, dtype=np.int64))
            out["quick"].append(np.full(n, r.cell.quick))
            out["control"].append(np.full(n, r.cell.control))
            for c in data_cols:
                out[c].append(r.columns.get(c, np.full(n, np.nan)))
        empty = {"seed": np.int64, "quick": bool, "control": bool}
        return {c: np.concatenate(v) if v else np.empty(0, dtype=empty.get(c, object if c in _ID_COLUMNS
                                                                          else np.float64))
                for c, v in out.items()}

    def index(self) -> list[dict[str, Any]]:
        """One dict per stored cell: label, status, seconds, error, path."""
        return [{"key": r.key, "label": r.meta.get("label", r.cell.label), "status": r.status,
                 "seconds": r.meta.get("seconds"), "error": r.meta.get("error"), "path": str(r.path)}
                for r in self.records()]


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - alive, someone else's
        return True
    return True
