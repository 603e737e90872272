"""runner.ipynb: it executes from top to bottom in quick mode on real MNIST and prints the final
test accuracies; the committed copy holds the outputs of a full run."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "runner.ipynb"
ACC = r"(0\.\d{4})"


def output_text(nb) -> str:
    """Everything the code cells printed (streams and text/plain results)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                parts.append(out["text"])
            elif "data" in out and "text/plain" in out["data"]:
                parts.append(out["data"]["text/plain"])
    return "\n".join(parts)


def accuracies(text: str) -> tuple[float, float]:
    without = re.search(rf"final test accuracy without momentum: {ACC}", text)
    with_m = re.search(rf"final test accuracy with momentum 0\.9: {ACC}", text)
    assert without and with_m, "the notebook does not print the final test accuracies"
    return float(without.group(1)), float(with_m.group(1))


@pytest.fixture(scope="module")
def executed(tmp_path_factory, mnist_dir):
    """runner.ipynb run in a temporary copy (its study folder lands there), in quick mode."""
    work = tmp_path_factory.mktemp("notebook")
    shutil.copy(NOTEBOOK, work / "runner.ipynb")
    nb = nbformat.read(work / "runner.ipynb", as_version=4)
    mp = pytest.MonkeyPatch()
    mp.setenv("MNIST_DATA_DIR", str(mnist_dir))  # the kernel inherits the environment
    mp.setenv("SOFTMAX_MNIST_QUICK", "1")
    try:
        NotebookClient(nb, kernel_name="python3", timeout=600,
                       resources={"metadata": {"path": str(work)}}).execute()
    finally:
        mp.undo()
    return work, nb


def test_runs_in_quick_mode_and_prints_test_accuracies(executed):
    work, nb = executed
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    text = output_text(nb)
    assert "quick mode: True" in text
    without, with_m = accuracies(text)
    assert 0.5 < without < 1 and 0.5 < with_m < 1
    assert re.search(rf"test accuracy without momentum: {ACC} \(test loss", text)
    study = work / "runs" / "notebook-study-quick"
    for name in ("results.json", "report.md", "report.pdf", "model.npz", "examples.npz"):
        assert (study / name).is_file(), name


def test_shows_the_curves_and_the_report_figures(executed):
    work, nb = executed
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    figures = len(list((work / "runs" / "notebook-study-quick" / "figures").glob("*.png")))
    assert figures >= 8
    assert images == 2 + figures  # plot_loss_and_acc's two, then every figure of the report
    markdown = [o["data"]["text/markdown"] for c in nb.cells for o in c.get("outputs", [])
                if "text/markdown" in o.get("data", {})]
    assert any("方法" in m for m in markdown) and any("有无动量的比较" in m for m in markdown)


def test_committed_notebook_holds_a_full_run():
    """The course hands in the notebook executed: outputs of a full (not quick) run on real
    MNIST, cells run in order, test accuracies in the course's ranges."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    text = output_text(nb)
    assert "quick mode: False (10 epochs per course run)" in text
    assert "/work/" not in text and "/home/" not in text and "/root/" not in text  # no absolute path
    without, with_m = accuracies(text)
    assert 0.895 <= without <= 0.91 and 0.915 <= with_m <= 0.93
    assert not [o for c in code for o in c.outputs if o["output_type"] == "error"]
