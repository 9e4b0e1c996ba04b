"""Build hook for the one compiled part: the dense min-plus kernel (``neurobridge/couplings/_minplus.c``).

Everything else is declared in ``setup.cfg``. The extension is optional: without a C compiler the install still
succeeds and the torch kernel is used (``neurobridge.couplings.kernels.COMPILED_KERNEL`` says which one runs).
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("neurobridge.couplings._minplus", ["neurobridge/couplings/_minplus.c"], optional=True)])
