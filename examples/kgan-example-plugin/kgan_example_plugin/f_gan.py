"""The "f_gan" loss: GANs that minimise an f-divergence (Nowozin et al. 2016).

f-GAN trains the generator Q to minimise D_f(P || Q) through its variational
bound (eq. 6 of the paper), with the discriminator's logit v = V(x):

    F = E_P[g_f(v)] - E_Q[f*(g_f(v))]

D maximises F; g_f is the output activation and f* the convex conjugate of
Table 2, which fix the divergence. The generator minimises F ("saddle") or,
as the paper recommends in section 3.2 (the analogue of GAN's -log D trick),
maximises E_Q[g_f(v)] ("alternative").

f*(g_f(v)) is written here in closed form in v, so that, for instance, the
Jensen-Shannon terms are softplus functions of the logit and stay finite for
any logit. "kl" and "squared_hellinger" contain exp(v), as the paper's
formulas do: they overflow for logits above about 88.
"""

import math

import tensorflow as tf

import kgan
from kgan import errors

LOG_2 = math.log(2.0)


def _kl(v):
    return v, tf.exp(v - 1.0)


def _reverse_kl(v):
    return -tf.exp(-v), v - 1.0


def _pearson(v):
    return v, 0.25 * tf.square(v) + v


def _squared_hellinger(v):
    return 1.0 - tf.exp(-v), tf.math.expm1(v)


def _jensen_shannon(v):
    return LOG_2 - tf.nn.softplus(-v), tf.nn.softplus(v) - LOG_2


def _gan(v):
    return -tf.nn.softplus(-v), tf.nn.softplus(v)


# divergence -> v -> (g_f(v), f*(g_f(v))), Table 2 of Nowozin et al. (2016).
DIVERGENCES = {
    "kl": _kl,
    "reverse_kl": _reverse_kl,
    "pearson": _pearson,
    "squared_hellinger": _squared_hellinger,
    "jensen_shannon": _jensen_shannon,
    "gan": _gan,
}

# With these two, the optimal logit is log p(x)/q(x): sigmoid(v) is D's
# probability that x is real.
_LOG_ODDS_DIVERGENCES = ("jensen_shannon", "gan")
GENERATOR_OBJECTIVES = ("alternative", "saddle")


@kgan.register_loss("f_gan")
class FGAN(kgan.GANLoss):
    """f-GAN (Nowozin et al. 2016): minimises a chosen f-divergence (kl, pearson, ...)."""

    def __init__(self, divergence="jensen_shannon", generator_objective="alternative"):
        """Args:
            divergence: one of kl, reverse_kl, pearson, squared_hellinger,
                jensen_shannon, gan.
            generator_objective: "alternative" (G maximises E_Q[g_f(v)], the
                paper's practical choice) or "saddle" (G minimises F).
        """
        if divergence not in DIVERGENCES:
            raise kgan.KganError(
                f'f_gan has no divergence "{divergence}".'
                f"{errors.did_you_mean(divergence, DIVERGENCES)} Choose one of "
                f"{', '.join(DIVERGENCES)} in the recipe's loss section, e.g. "
                "loss: {name: f_gan, divergence: pearson}."
            )
        if generator_objective not in GENERATOR_OBJECTIVES:
            raise kgan.KganError(
                f'f_gan has no generator_objective "{generator_objective}". Choose '
                '"alternative" (the paper\'s practical choice) or "saddle".'
            )
        self.divergence = divergence
        self.generator_objective = generator_objective
        self.probabilistic = divergence in _LOG_ODDS_DIVERGENCES
        self._terms = DIVERGENCES[divergence]

    def discriminator_loss(self, real_logits, fake_logits):
        real_activation, _ = self._terms(real_logits)
        _, fake_conjugate = self._terms(fake_logits)
        return fake_conjugate - real_activation

    def generator_loss(self, fake_logits):
        activation, conjugate = self._terms(fake_logits)
        return -activation if self.generator_objective == "alternative" else -conjugate

    def get_config(self):
        return {
            "divergence": self.divergence,
            "generator_objective": self.generator_objective,
        }
