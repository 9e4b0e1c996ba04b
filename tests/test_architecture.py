"""The package's shape: no import cycles among neurobridge modules, no arrow from a lower layer up to a higher one,
no import of another package's private module; and the example coupling of docs/architecture.md runs."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "neurobridge"

# Lower number = lower layer. A module may import its own layer or below, never above. Top-level private modules
# (neurobridge._lazy, _io, _device, _epochs, _procrustes, _training, ...) are layer 0.
LAYERS = {
    "assemblies": 1, "text": 1,
    "bridges": 2, "datasets": 2, "activations": 2,
    "flows": 3, "evaluate": 3,
    "models": 4,
    "couplings": 5,
    "baselines": 6, "peers": 6,
    "align": 7, "benchmarks": 7, "persistence": 7,
    "experiments": 8, "cli": 8, "": 8,
}

KNOWN: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every neurobridge module ``name`` imports, at module level or inside functions (a module-level
    ``__getattr__`` included: an import hidden in it is still an arrow)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            targets = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in known else stem for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def component(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


# Private top-level modules are layer 0, except the input checks, which read assemblies.
PRIVATE_LAYERS = {"_validation": 1}


def layer(name: str) -> int:
    part = component(name)
    return PRIVATE_LAYERS.get(part, 0) if part.startswith("_") else LAYERS[part]


def edges():
    return [(a, b) for a, targets in graph().items() for b in targets if (a, b) not in KNOWN]


def test_every_component_has_a_layer():
    missing = {component(name) for name in modules() if not component(name).startswith("_") and component(name) not in LAYERS}
    assert not missing, f"add {missing} to LAYERS"


def test_no_import_cycles():
    g = {a: {b for b in targets if (a, b) not in KNOWN} for a, targets in graph().items()}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            members = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                members.append(w)
                if w == v:
                    break
            if len(members) > 1:
                cycles.append(sorted(members))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_no_compatibility_shims():
    """No module keeps an old import path alive with a hand-written module-level ``__getattr__`` (PEP 562); the
    package faces' lazy loading (:mod:`neurobridge._lazy`) is the one use."""
    shims = []
    for name, path in modules().items():
        if name == "neurobridge._lazy":
            continue
        tree = ast.parse(path.read_text())
        shims += [name for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "__getattr__"]
    assert not shims, f"module-level __getattr__ in {shims}"


def test_no_upward_arrows():
    upward = [(a, b) for a, b in edges() if layer(b) > layer(a)]
    assert not upward, f"lower layer imports a higher one: {upward}"


def test_no_private_imports_across_packages():
    """``neurobridge.x._y`` may be imported only from inside ``neurobridge.x`` (top-level ``neurobridge._y`` is shared)."""
    bad = []
    for a, b in edges():
        parts = b.split(".")
        private = [i for i, part in enumerate(parts) if part.startswith("_") and i > 1]
        if not private:
            continue
        owner = ".".join(parts[: private[0]])
        if not (a == owner or a.startswith(owner + ".")):
            bad.append((a, b))
    assert not bad, f"private modules imported from another package: {bad}"


def test_the_checker_resolves_relative_imports_and_layers():
    """The graph builder resolves relative imports (else it would miss cycles and arrows) and orders the layers."""
    g = graph()
    assert "neurobridge.couplings.result" in g["neurobridge.couplings.solvers"]
    assert "neurobridge.couplings.errors" in g["neurobridge.couplings.cost"]
    assert "neurobridge.couplings.methods.bridge_ot" in g["neurobridge.couplings.methods"]
    assert layer("neurobridge.align") > layer("neurobridge.couplings.cost") > layer("neurobridge._lazy")


def example_code() -> str:
    text = (ROOT / "docs" / "architecture.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    example = [b for b in blocks if "class " in b and "Aligner(" in b]
    assert len(example) == 1, "docs/architecture.md must hold exactly one example coupling"
    return example[0]


def test_the_documented_example_coupling_runs():
    code = example_code()
    assert 15 <= len(code.strip().splitlines()) <= 30
    namespace: dict = {}
    exec(compile(code, "docs/architecture.md", "exec"), namespace)
    aligner = namespace["aligner"]
    from neurobridge.couplings import Coupling

    assert isinstance(aligner.coupling_, Coupling)
    assert aligner.transform(namespace["x"][:3]).shape == (3, namespace["y"].shape[1])
