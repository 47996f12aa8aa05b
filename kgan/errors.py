"""User-facing errors: one paragraph that names the bad thing and the fix."""

import difflib


class KganError(Exception):
    """Base class of the errors kgan reports to users without a traceback."""


class UnknownPluginError(KganError, LookupError):
    """A plugin name that no registry entry answers to."""


class DuplicatePluginError(KganError, ValueError):
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
