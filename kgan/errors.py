"""User-facing errors: one paragraph that names the bad thing and the fix.

Every error kgan raises for bad input is a `KganError`, and also the built-in
exception that fits, so `except ValueError` (or `TypeError`, `LookupError`,
`FileNotFoundError`) in user code catches kgan's errors as it catches Keras'
own. The `kgan` command prints them without a traceback, with exit status 2.

This module imports nothing: every other module may use it.
"""

import difflib


class KganError(ValueError):
    """Base class of kgan's errors: a bad argument, recipe, dataset or run directory."""


class KganTypeError(KganError, TypeError):
    """An argument of the wrong kind (a model where a name was expected, ...)."""


class MissingFileError(KganError, FileNotFoundError):
    """A file or directory that kgan was pointed at does not exist."""


class UnknownPluginError(KganError, LookupError):
    """A plugin name that no registry entry answers to."""


class DuplicatePluginError(KganError):
    """Two plugins registered under one name."""


class PluginParameterError(KganError, TypeError):
    """A plugin called with parameters it does not take."""


def closest(name, candidates):
    """Returns the candidate closest to `name`, or None if none is close."""
    matches = difflib.get_close_matches(str(name), list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name, candidates):
    """Returns ' Did you mean "x"?' for the closest candidate, or ''."""
    match = closest(name, candidates)
    return f' Did you mean "{match}"?' if match else ""
