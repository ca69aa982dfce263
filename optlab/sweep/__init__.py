"""Sweeps at scale: grids of cells, a cached and resumable results store, local or Dask workers.

A sweep is a grid of cells (a claim's seed or its control's; or a method on a problem family
with parameters and a seed). :func:`run_sweep` looks each cell up in the store by a key that
hashes its inputs and the code it runs, computes only the missing ones (serially, with joblib,
or on a Dask cluster), and writes each result atomically as it finishes. The store is in long
format (one row per run and recorded iteration), Parquet when pyarrow is installed and
``.npz`` otherwise, every file checked against its checksum when read.
:func:`verdicts_from_store` rebuilds the claims' verdicts from it for the report.

>>> from optlab.sweep import claim_cells, run_sweep          # doctest: +SKIP
>>> run_sweep(claim_cells(["calib"], quick=True), "runs/calib", jobs=2).line()  # doctest: +SKIP
'6 cells: 6 computed, 0 cached, 0 failed in 1.9 s'
"""

from optlab.sweep.grid import Cell, claim_cells, load_grid, method_cells
from optlab.sweep.runner import SweepSummary, run_sweep
from optlab.sweep.store import CellRecord, CorruptCellError, Store, have_pyarrow
from optlab.sweep.verdicts import StoredVerdicts, verdicts_from_records, verdicts_from_store

__all__ = ["Cell", "CellRecord", "CorruptCellError", "Store", "StoredVerdicts", "SweepSummary", "claim_cells",
           "have_pyarrow", "load_grid", "method_cells", "run_sweep", "verdicts_from_records",
           "verdicts_from_store"]
