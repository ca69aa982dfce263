"""Every paper_repro script runs in its --quick mode and writes its figures and tables."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = {
    "adaptive_batch_adagrad.py": ["adadagrad_figA_samples.png", "adadagrad_figB_steps.png", "adadagrad_figC_batch.png",
                                  "adadagrad_table.md", "adadagrad_e1_o1k.png"],
    "bilevel_unbounded_smoothness.py": ["borep_hypercleaning.png", "borep_e1_scaling.png", "borep_unbounded.png",
                                        "borep_table.md", "borep_hyperrep.png"],
    "calibration.py": ["calib_worst_case.png", "calib_table.md", "calib_gd_linear.png"],
    "gradient_normalized_smoothness.py": ["gns_fig1_lse.png", "gns_fig2_gamma.png", "gns_fig3_nle.png",
                                          "gns_fig45_rosenbrock.png", "gns_fig6_chebyshev.png", "gns_fig7_logistic.png",
                                          "gns_phase_diagram.png", "gns_phase_diagram.md"],
    "lr_to_perceptron.py": ["lrgd_fig1_loss_accuracy.png", "lrgd_fig2_vs_bp.png", "lrgd_fig4_chaos.png",
                            "lrgd_fig6_perceptrons.png", "lrgd_T_vs_n.png", "lrgd_T_vs_gamma.png", "lrgd_table1.md"],
    "optimistic_omd_sea.py": ["omd_sea_sweep.png", "omd_special_cases.png", "omd_optimism.png", "omd_table.md"],
    "sinkhorn_newton_sparse.py": ["sns_assignment.png", "sns_digits.png", "sns_table1.md", "sns_ablation.png",
                                  "sns_ablation.md", "sns_claims.md"],
}


@pytest.fixture(scope="module", params=sorted(SCRIPTS))
def quick_run(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param.removesuffix(".py"))
    proc = subprocess.run([sys.executable, str(ROOT / "paper_repro" / request.param), "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    return request.param, out, proc


def test_every_script_is_listed():
    assert sorted(p.name for p in (ROOT / "paper_repro").glob("*.py")) == sorted(SCRIPTS)


def test_quick_run_writes_outputs(quick_run):
    script, out, proc = quick_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in SCRIPTS[script]:
        f = out / name
        assert f.exists() and f.stat().st_size > 100, name
    if script == "lr_to_perceptron.py":  # Table 1's worst-case row, exactly
        row = "| worst_case(n=1000) | 1000 | 5 | 2 | 2 | 16 | 157 | 308 | 301 | 2 |"
        assert row in (out / "lrgd_table1.md").read_text()
