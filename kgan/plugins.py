"""Finds and imports plugins: entry points, Python files and modules.

Plugins register themselves when imported (with `kgan.register_loss`,
`kgan.register_architecture`, ...). This module decides what gets imported:

- every entry point in the `kgan.plugins` group, the first time any registry is
  consulted (kgan's own built-in plugins arrive this way too);
- files and modules that a recipe lists under `plugins:` (`load`).

A plugin that fails to import is reported with its source and skipped, so one
broken package does not take the others down. This module plugs into
`kgan.registry` (which knows nothing of it) as the registries' discovery.
"""

import dataclasses
import hashlib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
import warnings

from kgan import errors
from kgan import registry

ENTRY_POINT_GROUP = "kgan.plugins"
_BUILTIN_DISTRIBUTION = "kgan"


@dataclasses.dataclass(frozen=True)
class Failure:
    source: str
    error: str


_failures = []
_entry_points_loaded = False
_loaded_files = {}


def failures():
    """Plugins that failed to import, as `Failure(source, error)`."""
    return list(_failures)


def load_entry_points():
    """Imports every `kgan.plugins` entry point once; later calls do nothing."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        distribution = getattr(entry_point.dist, "name", None)
        if distribution == _BUILTIN_DISTRIBUTION:
            origin = f"built-in '{entry_point.name}'"
        else:
            origin = f"entry point '{entry_point.name} = {entry_point.value}'"
            if distribution:
                origin += f" of package {distribution}"
        try:
            with registry.registering_from(origin):
                entry_point.load()
        except Exception as exc:  # A broken plugin must not break the others.
            _record_failure(origin, exc)
        else:
            module = getattr(entry_point, "module", None) or entry_point.value.split(":")[0]
            registry.claim_module(module.strip(), origin)


def load(spec, base_dir=None):
    """Imports a plugin given as a Python file path or a module name.

    Args:
        spec: `path/to/file.py` (relative paths are resolved against
            `base_dir`) or a dotted module name such as `my_package.gan_plugins`.
        base_dir: directory for relative file paths, e.g. the recipe's.

    Raises:
        KganError: if the file does not exist or the module cannot be imported.
    """
    load_entry_points()
    if spec.endswith(".py") or os.sep in spec or "/" in spec:
        return _load_file(spec, base_dir)
    with registry.registering_from(f"module {spec}"):
        try:
            return importlib.import_module(spec)
        except errors.KganError:
            raise
        except ImportError as exc:
            raise errors.KganError(
                f'Could not import plugin module "{spec}": {exc}. Install the package '
                "that provides it, or name a Python file (ending in .py) instead."
            ) from exc
        except Exception as exc:
            raise errors.KganError(
                f'Plugin module "{spec}" failed to import: {type(exc).__name__}: {exc}. '
                f"Fix the error in that module (run `python -c 'import {spec}'` to see "
                "the traceback)."
            ) from exc


def _load_file(spec, base_dir):
    path = os.path.abspath(os.path.join(base_dir or os.getcwd(), os.path.expanduser(spec)))
    if path in _loaded_files:
        return _loaded_files[path]
    if not os.path.isfile(path):
        raise errors.KganError(
            f'Plugin file "{spec}" does not exist (looked for {path}). Relative '
            "paths are read from the recipe's directory; fix the path in `plugins:`."
        )
    # The path's hash keeps two plugin files of the same name apart in sys.modules.
    stem = os.path.splitext(os.path.basename(path))[0]
    module_name = f"kgan_user_plugin_{stem}_{hashlib.sha1(path.encode()).hexdigest()[:8]}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    with registry.registering_from(f"file {path}"):
        try:
            module_spec.loader.exec_module(module)
        except errors.KganError:
            del sys.modules[module_name]
            raise
        except Exception as exc:
            del sys.modules[module_name]
            raise errors.KganError(
                f'Plugin file "{path}" failed to import: {type(exc).__name__}: {exc}. '
                "Fix the error in that file (run `python <file>` to see the traceback)."
            ) from exc
    _loaded_files[path] = module
    return module


def _record_failure(origin, exc):
    failure = Failure(origin, f"{type(exc).__name__}: {exc}")
    _failures.append(failure)
    warnings.warn(
        f"kgan plugin {failure.source} failed to import and was skipped: "
        f"{failure.error}",
        stacklevel=3,
    )


class _EntryPointDiscovery(registry.Discovery):
    def load(self):
        load_entry_points()

    def failures(self):
        return [(failure.source, failure.error) for failure in _failures]


registry.set_discovery(_EntryPointDiscovery())
