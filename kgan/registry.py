"""A small registry of named plugins, one instance per kind of plugin.

This module imports nothing of kgan's but its errors: plugin discovery
(`kgan.plugins`) builds on it and plugs itself in with `set_discovery`, so
dependencies run one way.

Example:

```python
LOSSES = Registry("loss")

@LOSSES.register("hinge", description="Hinge loss of Lim & Ye (2017).")
class Hinge(GANLoss):
    ...

LOSSES.get("hinge")       # the class
"hinge" in LOSSES          # True
LOSSES.names("w*")         # ["wasserstein", "wasserstein_gp"]
```
"""

import contextlib
import dataclasses
import fnmatch
import inspect
import weakref
from typing import Any

from kgan import errors


@dataclasses.dataclass(frozen=True)
class Entry:
    """One registered plugin."""

    name: str
    obj: Any
    kind: str
    origin: str
    """Where the plugin came from: "built-in", "entry point ...", "file ..." or "code"."""
    location: str
    """`path:line` of the registered object."""
    description: str


_REGISTRIES = weakref.WeakSet()
_origin_stack = ["code"]


class Discovery:
    """What finds plugins before a registry is first consulted (`kgan.plugins`)."""

    def load(self):
        """Imports the plugins that register themselves; called before every lookup."""

    def failures(self):
        """`(source, error)` pairs of plugins that failed to import."""
        return ()


_discovery = Discovery()


def set_discovery(discovery):
    """Installs the `Discovery` that registries consult before each lookup."""
    global _discovery
    _discovery = discovery


def current_origin():
    """Where plugins being registered right now come from ("code" by default)."""
    return _origin_stack[-1]


@contextlib.contextmanager
def registering_from(origin):
    """Plugins registered inside this block record `origin` (e.g. "file x.py")."""
    _origin_stack.append(origin)
    try:
        yield
    finally:
        _origin_stack.pop()


class Registry:
    """Maps names to plugins of one kind (architecture, loss, dataset, ...)."""

    def __init__(self, kind, plural=None):
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self._entries = {}
        _REGISTRIES.add(self)

    def register(self, name=None, obj=None, *, description=None):
        """Registers `obj` under `name`; usable as a decorator.

        Args:
            name: the public name; defaults to `obj.__name__`.
            obj: the plugin. When omitted, returns a decorator.
            description: a one-line description; defaults to the first line of
                the object's docstring.

        Raises:
            DuplicatePluginError: if another object already has that name.
        """

        if obj is None and (inspect.isclass(name) or inspect.isfunction(name)):
            name, obj = None, name  # used as a bare decorator, without ()

        def decorate(plugin):
            self._add(
                name if name is not None else getattr(plugin, "__name__", None),
                plugin,
                description,
            )
            return plugin

        return decorate if obj is None else decorate(obj)

    def get(self, name):
        """Returns the plugin registered under `name`."""
        return self.entry(name).obj

    def entry(self, name):
        """Returns the `Entry` of `name`, with a helpful error if unknown."""
        _load_plugins()
        if name in self._entries:
            return self._entries[name]
        known = ", ".join(sorted(self._entries)) or "(none)"
        failures = "".join(
            f" Note: plugin {source} failed to load ({error}), so its "
            f"{self.plural} may be missing."
            for source, error in _discovery.failures()
        )
        raise errors.UnknownPluginError(
            f'Unknown {self.kind} "{name}".{errors.did_you_mean(name, self._entries)} '
            f"Known {self.plural}: {known}. Register new ones with "
            f"kgan.register_{self.kind}(name), a recipe's `plugins:` list, or a "
            f"package's `kgan.plugins` entry point.{failures}"
        )

    def names(self, pattern="*"):
        """Sorted registered names matching a shell-style `pattern`."""
        _load_plugins()
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def entries(self):
        """All entries, sorted by name."""
        return [self._entries[n] for n in self.names()]

    def __contains__(self, name):
        _load_plugins()
        return name in self._entries

    def __iter__(self):
        return iter(self.names())

    def __len__(self):
        return len(self.names())

    def __repr__(self):
        return f"Registry({self.kind!r}, {self.names()})"

    def _add(self, name, obj, description):
        if not isinstance(name, str) or not name:
            raise errors.KganError(
                f"A {self.kind} plugin needs a non-empty string name, got {name!r}."
            )
        location = _location(obj)
        existing = self._entries.get(name)
        if existing is not None and not _same_definition(existing, obj, location):
            raise errors.DuplicatePluginError(
                f'Two {self.plural} are registered as "{name}": the first from '
                f"{existing.origin} at {existing.location}, the second from "
                f"{current_origin()} at {location}. Rename one of them."
            )
        # The same object, or the same definition run again (a module imported
        # twice), replaces itself.
        self._entries[name] = Entry(
            name=name,
            obj=obj,
            kind=self.kind,
            origin=current_origin(),
            location=location,
            description=description or _first_docstring_line(obj),
        )


def claim_module(module_name, origin):
    """Gives `origin` to the entries that module `module_name` registered as "code".

    An entry point's module may have been imported directly before the entry
    points were loaded (`from kgan_plugins.losses import ...`); its plugins
    then registered as user code, and are relabelled here.
    """
    for registry in list(_REGISTRIES):
        for name, entry in registry._entries.items():
            if entry.origin == "code" and getattr(entry.obj, "__module__", None) == module_name:
                registry._entries[name] = dataclasses.replace(entry, origin=origin)


def _load_plugins():
    _discovery.load()


def _same_definition(entry, obj, location):
    if entry.obj is obj:
        return True
    definitions = (inspect.isclass(obj) or inspect.isfunction(obj)) and (
        inspect.isclass(entry.obj) or inspect.isfunction(entry.obj)
    )
    return (
        definitions
        and entry.location == location
        and getattr(entry.obj, "__qualname__", None) == getattr(obj, "__qualname__", None)
    )


def _location(obj):
    target = obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj)
    try:
        path = inspect.getsourcefile(target)
        _, line = inspect.getsourcelines(target)
    except (TypeError, OSError):
        return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"
    return f"{path}:{line}"


def _first_docstring_line(obj):
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def keyword_parameters(function, skip=()):
    """Names of `function`'s parameters, in order, less `skip`, *args and **kwargs.

    These are a plugin's options as a recipe may give them.
    """
    return [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.name not in skip and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]


def takes_any_keyword(function):
    """True if `function` has a **kwargs parameter."""
    return any(
        p.kind == p.VAR_KEYWORD for p in inspect.signature(function).parameters.values()
    )


def reject_unknown(params, known, subject, noun="parameter", listing=None):
    """Raises a PluginParameterError for the first key of `params` not in `known`.

    The message reads `{subject} has no {noun} "key". Did you mean ...? {listing}:
    a, b, c.`; `subject` may hold `{key}`, replaced by the unknown key.
    """
    for key in params:
        if key not in known:
            listing = listing or f"Its {noun}s"
            raise errors.PluginParameterError(
                f'{subject.format(key=key)} has no {noun} "{key}".'
                f"{errors.did_you_mean(key, known)} {listing}: {', '.join(known) or 'none'}."
            )


def serialize(registry, plugin):
    """`{"name": ..., **plugin.get_config()}`, from which `instantiate` rebuilds `plugin`."""
    name = plugin.name or next(
        (entry.name for entry in registry.entries() if entry.obj is type(plugin)), None
    )
    if name is None:
        raise errors.KganError(
            f"The {registry.kind} {type(plugin).__name__} is not registered, so a saved "
            "model could not find it again. Decorate its class with "
            f"@kgan.register_{registry.kind}(name)."
        )
    return {"name": name, **plugin.get_config()}


def instantiate(registry, base, spec):
    """An instance of a plugin class from a name, `{"name": ..., **params}` or an instance.

    The parameters are checked against the class's constructor, so that a
    recipe's typo names the plugin, the bad key and the keys it takes.
    """
    if isinstance(spec, base):
        return spec
    title = registry.kind.capitalize()
    if isinstance(spec, dict):
        params = dict(spec)
        name = params.pop("name", None)
        if name is None:
            raise errors.KganError(
                f"A {registry.kind} given as a dict needs a `name` key, got {spec!r}. "
                f"Known {registry.plural}: {', '.join(registry.names())}."
            )
    elif isinstance(spec, str):
        name, params = spec, {}
    else:
        raise errors.KganError(
            f"A {registry.kind} must be a registered {registry.kind} name, a "
            f"{{'name': ..., **params}} "
            f"dict or a {base.__module__.split('.')[0]}.{base.__name__} instance, got "
            f"{spec!r}. Known {registry.plural}: {', '.join(registry.names())}."
        )
    cls = registry.get(name)
    known = keyword_parameters(cls)
    takes = ", ".join(known) or "no parameters"
    # The base class takes **params only to reject them with a clear error.
    if not (cls.__init__ is not base.__init__ and takes_any_keyword(cls)):
        reject_unknown(params, known, f'{title} "{name}"', listing="It takes")
    try:
        inspect.signature(cls).bind(**params)
    except TypeError as exc:
        raise errors.PluginParameterError(
            f'{title} "{name}" does not take those parameters ({exc}). It takes: {takes}.'
        ) from exc
    instance = cls(**params)
    instance.name = name
    return instance
