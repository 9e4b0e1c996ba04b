"""Packages whose public names load on first use (PEP 562), so importing neurobridge stays cheap."""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping

__all__ = ["lazy_names", "lazy_package"]


def lazy_package(package: str, names: Mapping[str, str], submodules: Iterable[str] = (), *,
                 module_globals: Mapping[str, object] | None = None) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package``.

    ``names`` maps each public name to the submodule (relative to ``package``) that defines it; ``submodules`` are
    subpackages/modules reachable as attributes. ``__dir__`` lists the public names, the submodules and the package's
    own dunder attributes (``module_globals``: ``__version__``, ``__doc__``...), so tab completion sees the lazy names.
    """
    submodules = tuple(submodules)

    def __getattr__(name: str):
        if name in names:
            return getattr(importlib.import_module(f"{package}.{names[name]}"), name)
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(names) | set(submodules) | {key for key in (module_globals or ()) if key.startswith("__")})

    return __getattr__, __dir__, sorted(set(names) | set(submodules))


def lazy_names(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], object], list[str]]:
    """``(__getattr__, __all__)`` for ``package``: ``names`` maps each public name to its submodule."""
    getter, _, public = lazy_package(package, names)
    return getter, public
