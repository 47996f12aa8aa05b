"""The mode-collapse toys, from the shipped recipes: `kgan train recipes/ring2d.yaml`, `grid2d.yaml`.

Each recipe trains through the `kgan train` command, as a user runs it, and
the test asserts what its comment and the README claim, measured as VEEGAN
counts (`kgan.quality.toy_run_figures`, as `bin/toy_seeds.py` does): of 2,500 samples of the final
generator, every mode covered (at least 20 samples within 3 std) and at least
90% of the samples of high quality.
"""

import os

import pytest
from click.testing import CliRunner

from kgan import quality
from kgan.cli import main

RECIPES = os.path.join(os.path.dirname(__file__), "..", "recipes")


@pytest.mark.parametrize("recipe, num_modes", [("ring2d", 8), ("grid2d", 25)])
def test_the_recipe_covers_every_mode_with_high_quality_samples(recipe, num_modes, tmp_path):
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(main, ["train", os.path.join(RECIPES, f"{recipe}.yaml"),
                                       "--run-dir", str(run_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    found = quality.toy_run_figures(str(run_dir))
    assert found["num_modes"] == num_modes
    assert found["modes_covered"] == num_modes, found
    assert found["high_quality_share"] >= 0.90, found
    assert "mode collapse" not in result.output
