"""examples/learn_gans.ipynb runs top to bottom (with KGAN_NOTEBOOK_SMALL=1: small runs)."""

import os
import pathlib

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

NOTEBOOK = pathlib.Path(__file__).resolve().parents[1] / "examples" / "learn_gans.ipynb"
PREPARED_TFDS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "tensorflow_datasets"


def test_the_learners_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    if "TFDS_DATA_DIR" not in os.environ and not PREPARED_TFDS.is_dir():
        pytest.skip("needs the prepared MNIST tensorflow-datasets data")
    monkeypatch.setenv("TFDS_DATA_DIR", os.environ.get("TFDS_DATA_DIR", str(PREPARED_TFDS)))
    monkeypatch.setenv("KGAN_NOTEBOOK_SMALL", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.get("outputs", [])]
    text = "".join(output.get("text", "") for output in outputs)
    assert "generated: mean" in text and "fid:" in text.replace(" ", "")
    assert "(10, 28, 28, 1) <dtype: 'uint8'>" in text
    images = [output for output in outputs if "image/png" in output.get("data", {})
              or "image/gif" in output.get("data", {})]
    assert len(images) >= 4  # Figure 1, its GIF, the digits, the gradient plot
