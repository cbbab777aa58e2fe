"""Every tutorial runs as a plain script in quick mode (MINADMM_QUICK=1) and writes its figures."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT

EXPECTED = {
    "t1_projection.py": ["t1_projection_2d.png", "t1_projection_histogram.png"],
    "t2_layers.py": ["t2_kernel_times.png"],
    "t3_train_dense.py": ["t3_dense_training.png"],
    "t4_admm_lenet5.py": ["t4_residuals_constant.png", "t4_residuals_growing.png", "t4_rho_schedules.png"],
    "t5_admm_vs_magnitude.py": ["t5_admm_vs_magnitude.png"],
    "t6_what_pruning_buys.py": ["t6_weight_histograms.png", "t6_conv1_filters.png", "t6_inference_speed.png"],
}


def test_every_tutorial_is_listed():
    assert sorted(p.name for p in (ROOT / "tutorials").glob("t*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_tutorial_quick_mode(name, tmp_path, mnist):
    env = dict(os.environ, MINADMM_QUICK="1", MINADMM_FIGURES=str(tmp_path), MPLBACKEND="Agg")
    r = subprocess.run([sys.executable, str(ROOT / "tutorials" / name)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    for fig in EXPECTED[name]:
        assert (tmp_path / fig).stat().st_size > 1000, fig
