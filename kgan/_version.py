"""kgan's version, in one place: the package, `kgan --version`, exports and setup.py read it."""

__version__ = "0.1.0"
