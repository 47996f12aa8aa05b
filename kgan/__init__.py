"""kgan: generative adversarial networks in Keras 3.

`kgan.GAN` is Algorithm 1 of Goodfellow et al. (2014) as a `keras.Model` (its
docstring has an example); `kgan.DirectModel` the direct method it is
contrasted with. Losses, architectures, regularizers and datasets are
plugins in registries (`kgan.LOSSES`, ...). Import kgan before keras: it
picks TensorFlow's CPU kernels.

Example:

```python
import kgan
recipe = kgan.config.resolve("recipes/gaussian1d.yaml")
run_dir = kgan.train.train(recipe)
```
"""

import contextlib
import os

from kgan._version import __version__  # noqa: F401 - the package's version

# kgan's training step is written for TensorFlow; pick that Keras backend
# unless the user chose one, and refuse a different one with a clear message.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ start-up chatter (CPU feature notes) is not for kgan's users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kgan import _startup  # noqa: E402

# kgan turns TensorFlow's oneDNN CPU kernels on unless someone else decided. Then
# TensorFlow announces them on stderr as it loads, past TF_CPP_MIN_LOG_LEVEL;
# that notice is kgan's doing, so kgan drops it.
with (
    _startup.without_load_notices()
    if _startup.choose_cpu_kernels()
    else contextlib.nullcontext()
):
    import keras  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        f"kgan needs Keras' TensorFlow backend, but KERAS_BACKEND is "
        f"{keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow."
    )

from kgan.architectures import ARCHITECTURES  # noqa: E402
from kgan.architectures import Architecture  # noqa: E402
from kgan.architectures import discriminator  # noqa: E402
from kgan.architectures import generator  # noqa: E402
from kgan.architectures import register_architecture  # noqa: E402
from kgan.data import DATASETS  # noqa: E402
from kgan.data import register_dataset  # noqa: E402
from kgan.direct import DirectModel  # noqa: E402
from kgan.errors import KganError  # noqa: E402
from kgan.gan import GAN  # noqa: E402
# Registers kgan>SpectralNorm, so that load_model reads models that use it.
from kgan import layers  # noqa: E402
from kgan.losses import LOSSES  # noqa: E402
from kgan.losses import DirectLoss  # noqa: E402
from kgan.losses import GANLoss  # noqa: E402
from kgan.losses import get_loss  # noqa: E402
from kgan.losses import register_loss  # noqa: E402
from kgan.noise import set_seed  # noqa: E402
# Plugin discovery: entry points (kgan's built-in plugins among them), found
# the first time a registry is consulted.
from kgan import plugins  # noqa: E402
from kgan.registry import Registry  # noqa: E402
from kgan.regularizers import REGULARIZERS  # noqa: E402
from kgan.regularizers import Regularizer  # noqa: E402
from kgan.regularizers import register_regularizer  # noqa: E402

# The library's modules that users call as kgan.<module>.<function>.
from kgan import config  # noqa: E402
from kgan import evaluator  # noqa: E402
from kgan import export  # noqa: E402
from kgan import exported  # noqa: E402
from kgan import noise  # noqa: E402
# Registers kgan>Adam (the fused Adam recipes build), so that checkpoints load.
from kgan import optimizers  # noqa: E402
from kgan import quality  # noqa: E402
from kgan import runs  # noqa: E402
from kgan import train  # noqa: E402
from kgan import validation  # noqa: E402

