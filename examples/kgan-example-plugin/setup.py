"""kgan-example-plugin: a third-party kgan plugin package, as a template to copy.

Everything kgan needs from this file is the `kgan.plugins` entry-point group:
each entry names a module that registers plugins when imported. kgan imports
them the first time any registry is consulted, so `pip install` is the whole
set-up: no import in user code, no `plugins:` line in recipes.
"""

from setuptools import setup

setup(
    name="kgan-example-plugin",
    version="0.1.0",
    description="An example kgan plugin package: a residual MLP architecture "
    "(resmlp) and the f-GAN family of losses (f_gan).",
    python_requires=">=3.9",
    packages=["kgan_example_plugin"],
    install_requires=["kgan>=0.1"],
    entry_points={
        "kgan.plugins": [
            "resmlp = kgan_example_plugin.resmlp",
            "f_gan = kgan_example_plugin.f_gan",
        ],
    },
)
