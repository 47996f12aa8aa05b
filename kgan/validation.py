"""Checks of argument values, shared by the engine, the recipes and the plugins.

Each check returns the value in its canonical type or raises a `KganError`
whose first words are the argument's `name` (a recipe key path such as
`data.std`, or a parameter such as `d_steps (k, discriminator updates per
generator update)`), followed by what it must be, the value given and an
optional `hint` on how to fix it.

Example:

```python
k = kgan.validation.integer(d_steps, "d_steps", minimum=1)
std = kgan.validation.number(std, "data.std", above=0)
```
"""

import math
import numbers
import operator

from kgan import errors

_BOUNDS = (
    ("minimum", ">=", operator.ge),
    ("above", ">", operator.gt),
    ("maximum", "<=", operator.le),
    ("below", "<", operator.lt),
)


def is_integer(value):
    """True for ints (numpy's too), False for bools and everything else."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value):
    """True for real numbers (ints, floats, numpy scalars), False for bools."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def integer(value, name, minimum=None, maximum=None, hint=None):
    """`value` as an int, if it is an integer within [minimum, maximum]."""
    limits = " and ".join(
        f"{symbol} {bound}"
        for bound, symbol in ((minimum, ">="), (maximum, "<="))
        if bound is not None
    )
    if (
        not is_integer(value)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        _fail(name, f"an integer{' ' + limits if limits else ''}", value, hint)
    return int(value)


def number(value, name, *, minimum=None, above=None, maximum=None, below=None, hint=None):
    """`value` as a float, if it is a finite number within the given bounds."""
    given = {"minimum": minimum, "above": above, "maximum": maximum, "below": below}
    bounds = [(given[key], symbol, compare) for key, symbol, compare in _BOUNDS
              if given[key] is not None]
    wanted = " and ".join(f"{symbol} {bound!r}" for bound, symbol, _ in bounds)
    finite = is_number(value) and math.isfinite(value)
    if not finite or not all(compare(value, bound) for bound, _, compare in bounds):
        kind = "a number" if bounds and (finite or not is_number(value)) else "a finite number"
        _fail(name, f"{kind}{' ' + wanted if wanted else ''}", value, hint)
    return float(value)


def boolean(value, name, hint=None):
    """`value` if it is True or False (not 0, 1 or "yes")."""
    if not isinstance(value, bool):
        _fail(name, "true or false", value, hint)
    return value


def choice(value, name, choices, hint=None):
    """`value` if it is one of `choices` (compared with its type, so 1 is not True)."""
    if (type(value), value) not in {(type(c), c) for c in choices}:
        listed = ", ".join(str(c).lower() if isinstance(c, bool) else repr(c) for c in choices)
        suggestion = errors.did_you_mean(value, [str(c) for c in choices])
        _fail(name, f"one of {listed}", value, (suggestion.strip() + " " + (hint or "")).strip())
    return value


def image_size(value, name):
    """An image size given as N or [height, width] -> `(height, width)`; None stays None."""
    if value is None:
        return None
    if is_integer(value):
        value = (value, value)
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(is_integer(v) and v > 0 for v in value)
    ):
        return (int(value[0]), int(value[1]))
    _fail(name, "a positive integer N (for N x N) or [height, width]", value, None)


# The rules of the arguments that several layers take (the recipe, the model,
# the input pipeline), each stated once.


def latent_dim(value):
    """The size of the noise vector z: an integer >= 1."""
    return integer(value, "latent_dim (size of the noise vector z)", minimum=1)


def d_steps(value):
    """k, discriminator updates per generator update: an integer >= 1."""
    return integer(value, "d_steps (k, discriminator updates per generator update)",
                   minimum=1, hint="Algorithm 1 of the paper uses k = 1.")


def batch_size(value):
    """m, the minibatch size of each update: an integer >= 1."""
    return integer(value, "batch_size (m, the minibatch size)", minimum=1)


def ema_decay(value):
    """The decay of the generator's weight average: a number in (0, 1), or None."""
    if value is None:
        return None
    return number(value, "ema_decay", above=0.0, below=1.0, hint="E.g. 0.999, or None.")


def class_loss_weight(value):
    """The weight of AC-GAN's class loss: a number >= 0."""
    return number(value, "class_loss_weight", minimum=0)


def _fail(name, requirement, value, hint):
    raise errors.KganError(
        f"{name} must be {requirement}, got {value!r}.{' ' + hint if hint else ''}"
    )
