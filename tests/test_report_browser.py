"""The HTML report in a real headless Chromium: it loads, every image decodes, one table row per claim.

Marked slow (it starts a browser); ``.ci/run`` installs Chromium from the system packages and
runs it with ``pytest -m slow tests/test_report_browser.py``. Without a Chromium it is skipped,
except under CI (``CI`` set), where a missing browser is a failure.

The page is checked as a person's browser sees it: a copy of the report gets a small script
that waits for the ``load`` event, counts the ``<img>`` that decoded (``naturalWidth > 0``) and
the table's rows, and writes the result into the DOM, which ``chromium --headless --dump-dom``
prints. The same probe on a copy with one damaged image must report it broken, so the check
can fail.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from optlab.report import report_from_store
from optlab.sweep import claim_cells, run_sweep

pytestmark = pytest.mark.slow

PROBE = """<script>
window.addEventListener("load", () => {  // fires once every image has loaded or failed
  const imgs = Array.from(document.images);
  const rows = document.querySelectorAll("table#verdicts tbody tr");
  const out = {images: imgs.length, decoded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
               rows: Array.from(rows).map(r => r.cells[0].textContent),
               title: document.title};
  const pre = document.createElement("pre");
  pre.id = "probe-result";
  pre.textContent = "PROBE" + JSON.stringify(out) + "PROBE";
  document.body.appendChild(pre);
});
</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("no Chromium found under CI: .ci/run should have installed the 'chromium' package")
    pytest.skip("no Chromium (apt-get install chromium)")


def _probe(browser: str, html_path) -> dict:
    probed = html_path.with_name("probed-" + html_path.name)
    probed.write_text(html_path.read_text().replace("</body>", PROBE + "</body>"))
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           "--virtual-time-budget=15000", "--dump-dom", probed.as_uri()],
                          capture_output=True, text=True, timeout=180)
    m = re.search(r"PROBE(\{.*?\})PROBE", proc.stdout)
    assert m, f"no probe result (rc {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser")
    run_sweep(claim_cells(["calib"], quick=True), out, threads=1, progress=False)
    _, stored = report_from_store(out)
    return out / "report.html", [v.claim.id for v in stored.verdicts]


def test_report_loads_in_chromium_with_every_image_and_one_row_per_claim(report):
    html, ids = report
    got = _probe(_chromium(), html)
    assert got["title"] == "optlab verification report"
    assert got["rows"] == ids
    assert got["images"] == len(ids) and got["decoded"] == len(ids)


def test_the_probe_sees_a_broken_image(report):
    html, ids = report
    text = html.read_text()
    i = text.index("data:image/png;base64,") + len("data:image/png;base64,")
    broken = html.with_name("broken.html")
    broken.write_text(text[:i] + "AAAA" + text[i + 400:])  # a damaged PNG in the first figure
    got = _probe(_chromium(), broken)
    assert got["images"] == len(ids) and got["decoded"] == len(ids) - 1
