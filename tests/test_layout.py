"""The layout the README promises: no import cycles between the project's modules, kernels
that know nothing of files or tables, thin stage modules."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGES = ("focalflow", "hash_core", "models")


def module_name(repo_dir: Path, path: Path) -> str:
    parts = list(path.relative_to(repo_dir).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(repo_dir: Path, path: Path) -> set[str]:
    """The project modules ``path`` imports when it is loaded (imports inside functions, which
    run later, and ``TYPE_CHECKING`` blocks are not followed)."""
    name = module_name(repo_dir, path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return {n for n in found if n.split(".")[0] in PACKAGES}


def import_graph(repo_dir: Path) -> dict[str, set[str]]:
    files = [p for package in PACKAGES for p in (repo_dir / package).rglob("*.py")]
    modules = {module_name(repo_dir, p): p for p in files}
    return {name: {target for target in top_level_imports(repo_dir, path) if target in modules
                   and target != name}
            for name, path in modules.items()}


def test_no_import_cycles(repo_dir):
    graph = import_graph(repo_dir)
    state: dict[str, int] = {}
    cycles = []

    def visit(node, trail):
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(trail[trail.index(target):] + [target])
            elif not state.get(target):
                visit(target, trail + [target])
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node, [node])
    # a package importing its own submodules at load time is no cycle worth naming
    real = [c for c in cycles if not all(b.startswith(a + ".") or a.startswith(b + ".")
                                         for a, b in zip(c, c[1:]))]
    assert real == [], "import cycles: " + "; ".join(" -> ".join(c) for c in real)


def test_kernels_and_models_stay_apart_from_the_pipeline(repo_dir):
    graph = import_graph(repo_dir)
    for name, targets in graph.items():
        if name.startswith(("hash_core", "models")):
            assert not {t for t in targets if t.startswith("focalflow")}, name
    for path in (repo_dir / "hash_core").rglob("*.py"):
        text = path.read_text()
        assert "import pandas" not in text and "open(" not in text, path


def test_stage_modules_are_thin(repo_dir):
    for path in (repo_dir / "focalflow" / "stages").glob("*.py"):
        assert len(path.read_text().splitlines()) <= 150, path
