"""The report from a sweep's store: markdown + self-contained HTML, the same as ``verify --report``."""

import base64
from html.parser import HTMLParser

import pytest

from optlab.claims import get
from optlab.cli import main
from optlab.report import report_from_store
from optlab.sweep import Cell, claim_cells, run_sweep

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Page(HTMLParser):
    """Rows of the verdict table, the images and any reference to an outside resource."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.images: list[dict[str, str]] = []
        self.external: list[str] = []
        self._in_body = self._in_cell = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self._in_cell = True
            self.rows[-1].append("")
        elif tag == "img":
            self.images.append(a)
        for attr in ("src", "href"):
            if attr in a and not a[attr].startswith(("data:", "#")):
                self.external.append(a[attr])

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag == "td":
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.rows[-1][-1] += data


def _page(path) -> _Page:
    p = _Page()
    p.feed(path.read_text())
    return p


@pytest.fixture(scope="module")
def calib_store(tmp_path_factory):
    out = tmp_path_factory.mktemp("calib")
    run_sweep(claim_cells(["calib"], quick=True), out, threads=1, progress=False)
    return out


def test_report_from_store_markdown_and_self_contained_html(calib_store):
    md_path, stored = report_from_store(calib_store)
    ids = [v.claim.id for v in stored.verdicts]
    assert ids == ["calib.agd_sublinear", "calib.gd_linear", "calib.gd_sublinear"]
    assert all(v.holds for v in stored.verdicts) and not stored.notes
    md = md_path.read_text()
    for cid in ids:
        assert f"| {cid} |" in md and f"({cid}.png)" in md
        assert (calib_store / f"{cid}.png").read_bytes().startswith(PNG_MAGIC)
    assert "## Environment" in md and "### Where the cells ran" in md and "numba" in md
    page = _page(calib_store / "report.html")
    assert [r[0] for r in page.rows] == ids and all(r[5] == "pass" and r[6] == "rejected" for r in page.rows)
    assert not page.external
    assert len(page.images) == len(ids)
    for img in page.images:
        head, data = img["src"].split(",", 1)
        assert head == "data:image/png;base64"
        assert base64.b64decode(data, validate=True).startswith(PNG_MAGIC)
    # the figure shows the fitted rate and the seeds' median: both named in the claim's text
    gd = next(v for v in stored.verdicts if v.claim.id == "calib.gd_linear")
    assert len(gd.series) == get("calib.gd_linear").quick_seeds and gd.outcome.fit is not None


def test_verify_report_is_the_same_report(calib_store, tmp_path, capsys):
    assert main(["verify", "calib.gd_linear", "--quick", "--report", str(tmp_path), "--no-progress"]) == 0
    capsys.readouterr()
    if not (calib_store / "report.md").exists():
        report_from_store(calib_store)

    def rows(folder):
        lines = (folder / "report.md").read_text().splitlines()
        return [line for line in lines if line.startswith("| calib.gd_linear |")]

    assert len(rows(tmp_path)) == 1 and rows(tmp_path) == rows(calib_store)
    html_rows = [r for r in _page(calib_store / "report.html").rows if r[0] == "calib.gd_linear"]
    assert _page(tmp_path / "report.html").rows == html_rows
    assert (tmp_path / "verify.json").exists() and (tmp_path / "calib.gd_linear.png").exists()


def test_failed_cell_is_a_failing_row_with_its_traceback(tmp_path, monkeypatch):
    claim = get("calib.gd_sublinear")

    def broken(seed, *, quick, control):
        if control:
            raise FloatingPointError("overflow in the control run")
        return type(claim).run(claim, seed, quick=quick, control=control)

    monkeypatch.setattr(claim, "run", broken)
    s = run_sweep(claim_cells(["calib.gd_sublinear", "calib.gd_linear"], quick=True, seeds=1), tmp_path,
                  threads=1, progress=False)
    assert s.failed == 1
    md_path, stored = report_from_store(tmp_path)
    bad = next(v for v in stored.verdicts if v.claim.id == "calib.gd_sublinear")
    assert not bad.holds and "FloatingPointError" in bad.outcome.fitted
    assert "overflow in the control run" in "\n".join(stored.notes["calib.gd_sublinear"])
    md = md_path.read_text()
    assert "Traceback" in md and "(calib.gd_linear.png)" in md and "(calib.gd_sublinear.png)" not in md
    page = _page(tmp_path / "report.html")
    assert len(page.rows) == 2 and len(page.images) == 1
    assert page.rows[0][0] == "calib.gd_linear" and page.rows[0][5:] == ["pass", "rejected"]
    assert page.rows[1][0] == "calib.gd_sublinear" and page.rows[1][5:] == ["fail", "not checked"]
    assert main(["report", str(tmp_path)]) == 1  # a claim that does not hold


def test_stale_cells_are_reported_as_stale(tmp_path, monkeypatch):
    monkeypatch.setattr(Cell, "code", lambda self: "0" * 64)
    run_sweep(claim_cells(["calib.gd_sublinear"], quick=True), tmp_path, threads=1, progress=False)
    monkeypatch.undo()
    _, stored = report_from_store(tmp_path)
    assert stored.verdicts[0].holds
    assert stored.notes["calib.gd_sublinear"][0].startswith("stale: these cells ran older code (000000000000")
