"""kgan: generative adversarial networks in Keras 3.

Example:

```python
import kgan, keras  # kgan first: it picks TensorFlow's CPU kernels
generator = kgan.generator("dcgan", latent_dim=100, output_shape=(28, 28, 1))
discriminator = kgan.discriminator("dcgan", input_shape=(28, 28, 1))
gan = kgan.GAN(generator, discriminator, latent_dim=100, d_steps=1)
gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            loss="non_saturating")
```
"""

import contextlib
import os

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
from kgan.errors import KganError  # noqa: E402
from kgan.gan import GAN  # noqa: E402
# Registers kgan>SpectralNorm, so that load_model reads models that use it.
from kgan import layers  # noqa: E402
from kgan.losses import LOSSES  # noqa: E402
from kgan.losses import GANLoss  # noqa: E402
from kgan.losses import get_loss  # noqa: E402
from kgan.losses import register_loss  # noqa: E402
from kgan.registry import Registry  # noqa: E402
from kgan.regularizers import REGULARIZERS  # noqa: E402
from kgan.regularizers import Regularizer  # noqa: E402
from kgan.regularizers import register_regularizer  # noqa: E402

__version__ = "0.1.0"
