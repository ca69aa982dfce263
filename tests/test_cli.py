"""The command line: exit codes, the table, the JSON record, the report, clear errors."""

import json
import subprocess
import sys

from optlab.cli import main


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "calib.gd_linear" in out and "gradient_descent" in out


def test_verify_quick_json_and_report(tmp_path, capsys):
    js, rep = tmp_path / "v.json", tmp_path / "rep"
    rc = main(["verify", "calib", "--quick", "--json", str(js), "--report", str(rep), "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "claim" in out and "verdict" in out and "calib.gd_sublinear" in out and "rejected" in out
    doc = json.loads(js.read_text())
    assert set(doc) == {"claims", "environment"}
    rec = doc["claims"][0]
    assert {"id", "paper", "theorem", "quantity", "stated", "fitted", "verdict", "control_verdict",
            "seconds"} <= set(rec)
    assert all(c["verdict"] == "pass" and c["control_verdict"] == "fail" for c in doc["claims"])
    assert "OPENBLAS_CORETYPE" in doc["environment"]
    md = (rep / "report.md").read_text()
    for c in doc["claims"]:
        assert (rep / f"{c['id']}.png").stat().st_size > 1000
        assert f"({c['id']}.png)" in md


def test_verify_exit_1_when_a_claim_fails(monkeypatch, capsys):
    from optlab.claims import calib

    monkeypatch.setattr(calib.GDLinear, "check", lambda self, series: calib.Outcome(False, "forced"))
    assert main(["verify", "calib.gd_linear", "--quick", "--no-progress"]) == 1
    assert "fail" in capsys.readouterr().out


def test_unknown_id_is_one_line_exit_2(capsys):
    assert main(["verify", "calib.nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "calib.nope" in err and "Traceback" not in err


def test_bad_option_exit_2(capsys):
    assert main(["verify", "--jobs", "0"]) == 2
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert "optlab: error:" in err and "Traceback" not in err


def test_console_script_jobs_2(tmp_path):
    js = tmp_path / "v.json"
    proc = subprocess.run([sys.executable, "-m", "optlab.cli", "verify", "calib", "--quick", "--jobs", "2",
                           "--json", str(js)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    ids = [c["id"] for c in json.loads(js.read_text())["claims"]]
    assert ids == sorted(ids) and len(ids) >= 3


def test_repro_lists_scripts(capsys):
    assert main(["repro"]) == 0
    assert "calibration" in capsys.readouterr().out
    assert main(["repro", "no_such_paper"]) == 2
