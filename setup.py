"""kgan: generative adversarial networks in Keras 3, by the paper."""

import re

from setuptools import setup

with open("kgan/_version.py", encoding="utf-8") as _file:
    KGAN_VERSION = re.search(r'__version__ = "([^"]+)"', _file.read()).group(1)

# `tensorflow-cpu` and `tensorflow` share the import name `tensorflow`.  The CPU
# build is the default because it installs in about a minute on any machine;
# GPU users ask for the `gpu` extra (`pip install -e ".[gpu]"`), which pulls the
# CUDA-enabled `tensorflow[and-cuda]` instead.  Installing both is harmless:
# whichever was installed last provides the `tensorflow` module.
CPU_TENSORFLOW = "tensorflow-cpu>=2.16,<3"

setup(
    name="kgan",
    version=KGAN_VERSION,
    description="Generative adversarial networks for Keras 3: Algorithm 1 of "
    "Goodfellow et al. (2014), losses and architectures as plugins.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=["kgan", "kgan.cli", "kgan_plugins"],
    # The built-in plugins live in `plugins/` and install as `kgan_plugins`, a
    # name that cannot clash with other projects' top-level `plugins` modules.
    package_dir={"kgan": "kgan", "kgan_plugins": "plugins"},
    # The evaluators of MNIST and Fashion-MNIST (bin/train_evaluator.py --package).
    package_data={"kgan": ["evaluators/*.keras", "evaluators/*.json", "evaluators/*.npz"]},
    install_requires=[
        CPU_TENSORFLOW,
        "keras>=3.3,<4",
        "tensorflow-datasets>=4.9",
        # tf.summary (run logs) needs TensorBoard; tensorflow-cpu does not pull it in.
        "tensorboard>=2.16",
        # tensorflow-datasets 4.9.10 imports importlib_resources without
        # declaring it as a dependency.
        "importlib_resources>=5",
        "click>=8.1",
        "pyyaml>=6",
        "numpy>=1.26",
        "pillow>=9",
        "matplotlib>=3.7",
    ],
    extras_require={
        "gpu": ["tensorflow[and-cuda]>=2.16,<3"],
        # setuptools >= 70.1 builds wheels without the `wheel` package: the
        # third-party plugin test pip-installs an example package offline.
        # nbclient, nbformat and ipykernel run the learners' notebook; mkdocs builds the docs
        # site that the docs test checks the examples of.
        "test": ["pytest>=7", "pytest-xdist>=3.5", "scipy>=1.10", "setuptools>=70.1",
                 "nbclient>=0.10", "nbformat>=5.9", "ipykernel>=6"],
        "docs": ["mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.26"],
    },
    entry_points={
        "console_scripts": ["kgan = kgan.cli:main"],
        # kgan's own plugins register through the same public group that
        # third-party packages use.
        "kgan.plugins": [
            "losses = kgan_plugins.losses",
            "mlp = kgan_plugins.mlp",
            "dcgan = kgan_plugins.dcgan",
            "datasets = kgan_plugins.datasets",
            "toy_datasets = kgan_plugins.toy_datasets",
            "regularizers = kgan_plugins.regularizers",
            "tutorial = kgan_plugins.tutorial",
            "gmmn = kgan_plugins.gmmn",
            "conditional = kgan_plugins.conditional",
        ],
    },
)
