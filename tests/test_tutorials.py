"""Every tutorial, converted with jupytext and executed as a notebook in quick mode (MINADMM_QUICK=1) from a
directory outside the repository: it runs, shows each of its figures inline, and saves each as a PNG."""
import jupytext
import pytest
from nbclient import NotebookClient

from conftest import ROOT

EXPECTED = {
    "t1_projection.py": ["t1_projection_2d.png", "t1_projection_histogram.png"],
    "t2_layers.py": ["t2_kernel_times.png"],
    "t3_train_dense.py": ["t3_dense_training.png"],
    "t4_admm_lenet5.py": ["t4_residuals_constant.png", "t4_residuals_growing.png", "t4_residuals_balanced.png",
                          "t4_rho_schedules.png", "t4_residuals_lenet5-relu-71x-converge.png",
                          "t4_residuals_lenet5-relu-71x.png"],
    "t5_admm_vs_magnitude.py": ["t5_admm_vs_magnitude.png"],
    "t6_what_pruning_buys.py": ["t6_weight_histograms.png", "t6_conv1_filters.png", "t6_inference_speed.png"],
    "t7_past_250x.py": ["t7_accuracy_vs_compression.png"],
    "t8_structured.py": ["t8_speed.png", "t8_residuals_structured.png"],
}


def test_every_tutorial_is_listed():
    assert sorted(p.name for p in (ROOT / "tutorials").glob("t*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_tutorial_as_notebook(name, tmp_path, monkeypatch, mnist):
    from minadmm.data import resolve_data_home
    monkeypatch.setenv("MINADMM_DATA", str(resolve_data_home().resolve()))  # the kernel runs in tmp_path
    monkeypatch.setenv("MINADMM_QUICK", "1")
    monkeypatch.setenv("MINADMM_FIGURES", str(tmp_path / "figures"))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = jupytext.read(ROOT / "tutorials" / name)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    images = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) == len(EXPECTED[name]), f"{len(images)} inline figures, expected {len(EXPECTED[name])}"
    for fig in EXPECTED[name]:
        assert (tmp_path / "figures" / fig).stat().st_size > 1000, fig
