"""The library's imports form layers, with no circles and no arrow that runs back up.

Run ``python tests/test_layers.py`` to print the drawing: every import edge between modules of
``elastic`` (imports inside functions count: a lazy import is a dependency all the same), layer
by layer, then the cycles and the upward arrows, if any.

The layers, from the bottom. A module may import modules of its own layer or of any layer below;
an import of a module of a higher layer is an *upward arrow*.

1. foundation: errors, progress bars, statistics (powered verdicts and the pre-registered claims included) and their words, the
   results store, the cache, presets and config types;
2. data and models: datasets, sources with known distributions, token trees, model loading;
3. concepts: coding, prediction, springs, the theory, training, scoring (the likelihood margin
   included), the lifecycle's measurements and stages, the alignment experiments' tasks, lab and
   rebound grid, the GPU plan and the released checkpoints;
4. experiments: one computation per chapter and the registry that loads their configs;
5. presentation: figures, exercise checkers and their answer key, the Colab cell, what a notebook
   calls;
6. the book: chapters' bookkeeping, back-matter tables (the findings table and the power figure
   included), coursework and grading, executing and
   building, rehearsing the GPU presets;
7. entry points: the command line and the scripts it starts in other processes.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LIBRARY = Path(__file__).resolve().parents[1] / "elastic"

LAYERS = {
    "foundation": ("errors", "allocator", "progress", "stats", "power", "claims", "prose", "results", "cache", "config"),
    "data and models": ("data", "sources", "tokentree", "models"),
    "concepts": ("coding", "arithmetic", "prediction", "springs", "theory", "train", "packing", "score", "margin",
                 "measure", "stages", "tasks", "lab", "rebound_grid", "plan", "convert", "released"),
    "experiments": ("experiments",),
    "presentation": ("plots", "checkers", "answer_key", "exercises", "colab", "notebook"),
    "book": ("chapters", "report", "findings", "coursework", "grading", "book", "rehearse"),
    "entry points": ("cli", "__main__", "_accelerate_probe", "__init__"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(LIBRARY.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(LIBRARY.rglob("*.py"))}


def layer(module: str) -> int:
    """The index of ``module``'s layer (``elastic.experiments.rebound`` is in ``experiments``)."""
    top = module.split(".")[1] if "." in module else "__init__"
    for i, names in enumerate(LAYERS.values()):
        if top in names:
            return i
    raise KeyError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def edges() -> set[tuple[str, str]]:
    """(importer, imported) for every import of one elastic module by another."""
    known = modules()
    found = set()
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from elastic import x`` imports the module elastic.x when there is one
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                           for a in node.names]
            else:
                continue
            for target in targets:
                while target not in known and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in known and target != name and target.startswith("elastic"):
                    found.add((name, target))
    return found


def cycles(graph: set[tuple[str, str]]) -> list[list[str]]:
    """Every elementary cycle found by a depth-first search (each reported once, from its least node)."""
    succ: dict[str, list[str]] = {}
    for a, b in sorted(graph):
        succ.setdefault(a, []).append(b)
    found = []

    def walk(start, node, path):
        for nxt in succ.get(node, []):
            if nxt == start:
                found.append([*path, start])
            elif nxt not in path and nxt > start:
                walk(start, nxt, [*path, nxt])

    for start in sorted(succ):
        walk(start, start, [start])
    return found


def upward(graph: set[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted((a, b) for a, b in graph if layer(b) > layer(a))


def drawing(graph: set[tuple[str, str]]) -> str:
    names = list(LAYERS)
    lines = []
    for i in reversed(range(len(names))):
        lines.append(f"== {i + 1}. {names[i]}")
        for module in sorted(m for m in modules() if layer(m) == i):
            targets = sorted(b for a, b in graph if a == module)
            marks = [f"{b}{' (UP)' if layer(b) > i else ''}" for b in targets]
            lines.append(f"  {module} -> {', '.join(marks) or '(nothing in elastic)'}")
    return "\n".join(lines)


def test_every_module_has_a_layer():
    for module in modules():
        layer(module)


def test_no_import_cycles():
    assert cycles(edges()) == []


def test_no_upward_arrows():
    assert upward(edges()) == []


if __name__ == "__main__":
    graph = edges()
    print(drawing(graph))
    found, up = cycles(graph), upward(graph)
    print(f"\n{len(graph)} import edges; {len(found)} cycles; {len(up)} upward arrows")
    for cycle in found:
        print("cycle:", " -> ".join(cycle))
    for a, b in up:
        print(f"upward: {a} ({list(LAYERS)[layer(a)]}) -> {b} ({list(LAYERS)[layer(b)]})")
    sys.exit(1 if found or up else 0)
