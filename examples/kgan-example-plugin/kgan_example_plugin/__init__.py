"""An example third-party kgan plugin package.

Its modules register plugins with kgan's public decorators when imported, and
`setup.py` names them in the `kgan.plugins` entry-point group, so that kgan
finds them once the package is installed:

- `kgan_example_plugin.resmlp`: the "resmlp" architecture, residual MLPs for
  any sample shape;
- `kgan_example_plugin.f_gan`: the "f_gan" loss, the f-divergence GANs of
  Nowozin et al. (2016).
"""

__version__ = "0.1.0"
