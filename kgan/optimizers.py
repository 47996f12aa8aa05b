"""Optimizers from recipes: `{name: adam, learning_rate: ..., ...}`, with learning-rate
schedules from `keras.optimizers.schedules` and loss scaling under mixed float16."""

import keras

from kgan import errors


def build(recipe):
    """`{"d_optimizer": ..., "g_optimizer": ...}`: the recipe's optimizers, built.

    Under `train.precision: mixed_float16` each is wrapped in a
    `LossScaleOptimizer` (float16 gradients underflow; losses are scaled
    dynamically). A recipe without a discriminator has no `d_optimizer`.
    """
    roles = ["g_optimizer"] + (["d_optimizer"] if recipe["model"]["discriminator"] else [])
    built = {}
    for role in roles:
        optimizer = make_optimizer(recipe["train"][role], f"train.{role}")
        if recipe["train"]["precision"] == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        built[role] = optimizer
    return built


def _subclass_names(module, base, excluded):
    """`{lower-case name: name}` of the classes in `module` that subclass `base`."""
    return {
        name.lower(): name
        for name in dir(module)
        if isinstance(getattr(module, name), type)
        and issubclass(getattr(module, name), base)
        and name not in excluded
    }


def make_optimizer(section, key_path):
    """A Keras optimizer from `{name: adam, learning_rate: ..., ...}`.

    `learning_rate` is a number or a schedule, a mapping that names any class
    of `keras.optimizers.schedules` with its arguments, e.g. `{name:
    CosineDecay, initial_learning_rate: 1.0e-3, decay_steps: 2000, alpha: 0.1}`
    (its steps are this optimizer's updates: k per training step for D).
    """
    params = dict(section)
    name = params.pop("name")
    known = _subclass_names(keras.optimizers, keras.optimizers.Optimizer,
                            ("Optimizer", "LossScaleOptimizer", "MultiOptimizer"))
    if name.lower() not in known:
        raise errors.KganError(
            f'Recipe key `{key_path}.name`: unknown optimizer "{name}".'
            f"{errors.did_you_mean(name.lower(), known)} Known optimizers: "
            f"{', '.join(sorted(known))}."
        )
    if isinstance(params.get("learning_rate"), dict):
        params["learning_rate"] = _schedule(params["learning_rate"],
                                            f"{key_path}.learning_rate")
    try:
        return keras.optimizers.deserialize({"class_name": known[name.lower()], "config": params})
    except (TypeError, ValueError) as exc:
        raise errors.KganError(
            f"Recipe key `{key_path}`: Keras' {known[name.lower()]} optimizer rejected "
            f"{params}: {exc}. See keras.optimizers.{known[name.lower()]} for its arguments."
        ) from None


def _schedule(section, key_path):
    params = dict(section)
    name = params.pop("name", None)
    schedules = keras.optimizers.schedules
    known = _subclass_names(schedules, schedules.LearningRateSchedule,
                            ("LearningRateSchedule",))
    if not isinstance(name, str) or name.lower() not in known:
        raise errors.KganError(
            f"Recipe key `{key_path}.name`: a learning-rate schedule names one of "
            f"keras.optimizers.schedules, got {name!r}."
            f"{errors.did_you_mean(str(name).lower(), known)} Known schedules: "
            f"{', '.join(sorted(known.values()))}."
        )
    schedule = getattr(schedules, known[name.lower()])
    try:
        return schedule(**params)
    except (TypeError, ValueError) as exc:
        raise errors.KganError(
            f"Recipe key `{key_path}`: keras.optimizers.schedules.{schedule.__name__} "
            f"rejected {params}: {exc}."
        ) from None
