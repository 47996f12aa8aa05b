"""kgan's built-in plugins, installed as the package `kgan_plugins`.

They register through the `kgan.plugins` entry-point group in `setup.py`, the
same public mechanism that third-party plugin packages use.
"""
