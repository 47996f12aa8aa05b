"""Walking the latent space: interpolation strips and latent vector arithmetic.

```
kgan interpolate RUN_DIR --seeds 1 2 --steps 10 [--slerp] -o strip.png
kgan arithmetic RUN_DIR --a 9 --b 4 --c 1 -o arithmetic.png
```

Interpolation draws the two end points as `kgan.noise.sample(1, latent_dim,
seed)` and renders the generator along the straight line between them
(`lerp`) or along the great circle (`slerp`). Most of a high-dimensional
Gaussian's mass lies near the sphere of radius sqrt(latent_dim); a straight
line cuts inside it, where the generator saw little noise in training, while
slerp keeps the norm (for end points of equal norm).

Arithmetic follows the DCGAN paper (Radford et al. 2016, Section 6.3.2): one
sample's latent vector is too noisy to do sums with, so the vectors of several
samples that the dataset's evaluator confidently assigns to a class are
averaged first; `a - b + c` of those means is then rendered. With MNIST
(`kgan evaluator train mnist` once), `--a 9 --b 4 --c 1` asks for "a nine,
minus what makes it a four, plus a one" -- what comes out is shown, with the
evaluator's verdict on it, not promised.
"""

import numpy as np

from kgan import errors
from kgan import inference
from kgan import noise


def lerp(a, b, t):
    """Points `(1 - t) a + t b` for each `t` in `t`: `[len(t), dim]`."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64).reshape(-1, 1)
    return (1.0 - t) * a + t * b


def slerp(a, b, t):
    """Spherical interpolation from `a` to `b` at each `t`: `[len(t), dim]`.

    Follows the great circle through the two directions, with the norm
    interpolated linearly, so end points of equal norm keep it all the way.
    Parallel or opposite end points (no single great circle) fall back to
    `lerp`.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64).reshape(-1, 1)
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    if norm_a == 0 or norm_b == 0:
        return lerp(a, b, t)
    cos_omega = np.clip(np.dot(a / norm_a, b / norm_b), -1.0, 1.0)
    omega = np.arccos(cos_omega)
    if np.sin(omega) < 1e-6:
        return lerp(a, b, t)
    direction = (np.sin((1.0 - t) * omega) * (a / norm_a)
                 + np.sin(t * omega) * (b / norm_b)) / np.sin(omega)
    return direction * ((1.0 - t) * norm_a + t * norm_b)


def interpolate(gan, seed_a, seed_b, steps=10, spherical=False):
    """The generator's samples along the path between two seeds' latent points.

    Returns:
        `(latents [steps, latent_dim], samples [steps, ...])`.
    """
    _check_unconditional(gan, "interpolate")
    if steps < 2:
        raise errors.KganError(f"--steps must be at least 2 (both end points), got {steps}.")
    end_a = noise.sample(1, gan.latent_dim, seed_a).numpy()[0]
    end_b = noise.sample(1, gan.latent_dim, seed_b).numpy()[0]
    path = (slerp if spherical else lerp)(end_a, end_b, np.linspace(0.0, 1.0, steps))
    latents = path.astype(np.float32)
    return latents, inference.predict(gan.sampler, latents)


def class_means(latents, probabilities, classes, per_class=16, min_confidence=0.9):
    """Mean latent vector of the most confident samples of each class in `classes`.

    Args:
        latents: `[n, latent_dim]` latent vectors.
        probabilities: `[n, num_classes]` the evaluator's class probabilities
            for their samples.
        classes: class indices to average over.
        per_class: how many of each class's most confident samples to average.
        min_confidence: samples below this probability are never used.

    Returns:
        `{class: mean latent}`.
    """
    latents = np.asarray(latents, np.float64)
    probabilities = np.asarray(probabilities, np.float64)
    predicted = probabilities.argmax(axis=1)
    means = {}
    for cls in classes:
        if not 0 <= cls < probabilities.shape[1]:
            raise errors.KganError(
                f"Class {cls} does not exist: the evaluator knows classes 0 to "
                f"{probabilities.shape[1] - 1}."
            )
        confidence = probabilities[:, cls]
        chosen = np.flatnonzero((predicted == cls) & (confidence >= min_confidence))
        if len(chosen) == 0:
            raise errors.KganError(
                f"None of the {len(latents)} samples was classified as class {cls} with "
                f"probability >= {min_confidence}. Draw more with --num-samples, lower "
                "--min-confidence, or train the generator longer (it may not make this class)."
            )
        chosen = chosen[np.argsort(-confidence[chosen])][:per_class]
        means[cls] = latents[chosen].mean(axis=0)
    return means


def arithmetic(gan, evaluator, a, b, c, num_samples=2000, per_class=16, min_confidence=0.9,
               seed=0):
    """Renders `mean(a) - mean(b) + mean(c)` of class-averaged latent vectors.

    Returns:
        A dict: `latents` (`[4, latent_dim]`: the means of a, b, c and the
        result), `samples` (their four samples) and `predicted` (the
        evaluator's classes for those four samples).
    """
    _check_unconditional(gan, "arithmetic")
    z = noise.sample(num_samples, gan.latent_dim, seed).numpy()
    samples = inference.predict(gan.sampler, z)
    _, logits = evaluator.features_and_logits(samples)
    probabilities = _softmax(logits)
    means = class_means(z, probabilities, [a, b, c], per_class, min_confidence)
    latents = np.stack([means[a], means[b], means[c], means[a] - means[b] + means[c]])
    latents = latents.astype(np.float32)
    rendered = inference.predict(gan.sampler, latents)
    return {"latents": latents, "samples": rendered,
            "predicted": evaluator.predict_classes(rendered)}


def _check_unconditional(gan, command):
    if gan.num_classes is not None:
        raise errors.KganError(
            f"kgan {command} walks the latent space of an unconditional GAN; this one is "
            f"conditional ({gan.num_classes} classes), where the label, not z, picks the "
            "class. Draw chosen classes with `kgan sample RUN_DIR --label N`."
        )


def _softmax(logits):
    logits = np.asarray(logits, np.float64)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def check_images(samples, command):
    if np.asarray(samples).ndim < 3:
        raise errors.KganError(
            f"kgan {command} renders images, but this run's samples are vectors of shape "
            f"{np.asarray(samples).shape[1:]}. Use it on an image run (e.g. recipes/mnist.yaml)."
        )
