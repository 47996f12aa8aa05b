"""Every shipped recipe trains for a couple of steps through the CLI, so none can rot."""

import os
import pathlib

import pytest
from click.testing import CliRunner

from kgan import cli
from kgan import config

RECIPES = pathlib.Path(__file__).resolve().parent.parent / "recipes"
SHIPPED = sorted(RECIPES.glob("*.yaml"))
PREPARED_TFDS = RECIPES.parent.parent / "shared" / "tensorflow_datasets"


@pytest.fixture(autouse=True, scope="module")
def tfds_data_dir():
    # The MNIST recipes read prepared tensorflow-datasets data; use the
    # project's shared copy when the environment names none.
    if "TFDS_DATA_DIR" not in os.environ and PREPARED_TFDS.is_dir():
        os.environ["TFDS_DATA_DIR"] = str(PREPARED_TFDS)
        yield
        del os.environ["TFDS_DATA_DIR"]
    else:
        yield


def test_the_recipes_are_shipped():
    assert {p.name for p in SHIPPED} == {
        "mnist.yaml", "mnist_unconditional.yaml", "mnist_mlp.yaml", "fashion_mnist.yaml",
        "gaussian1d.yaml", "ring2d.yaml", "grid2d.yaml", "gmmn_mnist.yaml", "wgan_gp_mnist.yaml",
        "lsgan_mnist.yaml", "acgan_mnist.yaml", "cifar10_hinge_sn.yaml"}


def test_mnist_recipe_is_the_readmes_main_job():
    recipe = config.resolve(str(RECIPES / "mnist.yaml"))
    assert recipe["model"]["conditional"] is True
    assert recipe["model"]["generator"]["name"] == "cgan"
    assert recipe["model"]["discriminator"]["name"] == "cgan"
    assert recipe["eval"]["every_epochs"] and recipe["eval"]["final_num_samples"] == 10000
    assert recipe["loss"]["name"] == "non_saturating"
    assert recipe["train"]["d_steps"] == 1
    assert recipe["data"] == {"name": "tfds", "dataset": "mnist", "split": "train"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_recipe_trains_a_few_steps(path, tmp_path):
    run_dir = tmp_path / "run"
    # Two steps need 16 examples; reading a slice of a tfds split skips loading all of it.
    data = config.read(str(path)).get("data", {})
    only_a_slice = ["--set", "data.split=train[:64]"] if data.get("name") == "tfds" else []
    result = CliRunner().invoke(cli.main, [
        "train", str(path), "--run-dir", str(run_dir), "--quiet", *only_a_slice,
        *_image_folder(data),
        "--set", "train.epochs=1", "--set", "train.steps_per_epoch=2",
        "--set", "train.batch_size=8", "--set", "samples.num=16",
        "--set", "train.jit_compile=false", "--set", "train.steps_per_execution=1",
        "--set", "eval.final_num_samples=200",
    ])
    assert result.exit_code == 0, result.output
    assert (run_dir / "samples" / "epoch-0001.png").exists()
    assert (run_dir / "generator.keras").exists()
    assert (run_dir / "checkpoints" / "ckpt-00000002.keras").exists()


def _image_folder(data):
    """Nothing, or a skip when a recipe's image folder (relative to it) is not there."""
    if data.get("name") == "images" and not (RECIPES / data["path"]).is_dir():
        pytest.skip(f"the recipe's image folder {data['path']} is not at "
                    f"{(RECIPES / data['path']).resolve()}; see ../shared/datasets/README.md")
    return []
