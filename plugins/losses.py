"""Built-in GAN losses, all computed from the discriminator's logits.

With l a logit and D = sigmoid(l): log D = -softplus(-l) and
log(1 - D) = -softplus(l), which stay finite for any l.
"""

import tensorflow as tf

import kgan


@kgan.register_loss("minimax")
class Minimax(kgan.GANLoss):
    """The paper's value function; G minimises log(1 - D(G(z))) (saturates early on)."""

    def discriminator_loss(self, real_logits, fake_logits):
        return tf.nn.softplus(-real_logits) + tf.nn.softplus(fake_logits)

    def generator_loss(self, fake_logits):
        return -tf.nn.softplus(fake_logits)


@kgan.register_loss("non_saturating")
class NonSaturating(Minimax):
    """The paper's practical variant: G maximises log D(G(z)) for strong early gradients."""

    def generator_loss(self, fake_logits):
        return tf.nn.softplus(-fake_logits)


@kgan.register_loss("least_squares")
class LeastSquares(kgan.GANLoss):
    """LSGAN (Mao et al. 2017): squared distance of D's output to targets a, b, c."""

    probabilistic = False

    def __init__(self, fake_target=0.0, real_target=1.0, generator_target=1.0):
        self.fake_target = float(fake_target)
        self.real_target = float(real_target)
        self.generator_target = float(generator_target)

    def discriminator_loss(self, real_logits, fake_logits):
        return 0.5 * (
            tf.square(real_logits - self.real_target)
            + tf.square(fake_logits - self.fake_target)
        )

    def generator_loss(self, fake_logits):
        return 0.5 * tf.square(fake_logits - self.generator_target)

    def get_config(self):
        return {
            "fake_target": self.fake_target,
            "real_target": self.real_target,
            "generator_target": self.generator_target,
        }


@kgan.register_loss("wasserstein")
class Wasserstein(kgan.GANLoss):
    """WGAN (Arjovsky et al. 2017): critic scores, Lipschitz by weight clipping.

    `clip_value` brings the `weight_clipping` regularizer with that value;
    None brings none (pair it with the `gradient_penalty` regularizer).
    """

    probabilistic = False

    def __init__(self, clip_value=0.01):
        if clip_value is not None and float(clip_value) <= 0:
            raise kgan.KganError(f"wasserstein clip_value must be > 0 or None, got {clip_value}.")
        self.clip_value = None if clip_value is None else float(clip_value)

    def discriminator_loss(self, real_logits, fake_logits):
        return fake_logits - real_logits

    def generator_loss(self, fake_logits):
        return -fake_logits

    def default_regularizers(self):
        if self.clip_value is None:
            return []
        return [{"name": "weight_clipping", "clip_value": self.clip_value}]

    def get_config(self):
        return {"clip_value": self.clip_value}


@kgan.register_loss("wasserstein_gp")
class WassersteinGP(Wasserstein):
    """WGAN-GP (Gulrajani et al. 2017): critic gradient norm pushed to 1 on interpolates.

    The Wasserstein loss without clipping, bringing the `gradient_penalty`
    regularizer with weight `gp_weight`.
    """

    def __init__(self, gp_weight=10.0):
        super().__init__(clip_value=None)
        if float(gp_weight) < 0:
            raise kgan.KganError(f"wasserstein_gp gp_weight must be >= 0, got {gp_weight}.")
        self.gp_weight = float(gp_weight)

    def default_regularizers(self):
        return [{"name": "gradient_penalty", "weight": self.gp_weight}]

    def get_config(self):
        return {"gp_weight": self.gp_weight}


@kgan.register_loss("hinge")
class Hinge(kgan.GANLoss):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018), as in SN-GAN and BigGAN."""

    probabilistic = False

    def discriminator_loss(self, real_logits, fake_logits):
        return tf.nn.relu(1.0 - real_logits) + tf.nn.relu(1.0 + fake_logits)

    def generator_loss(self, fake_logits):
        return -fake_logits
