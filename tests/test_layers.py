"""The package's layers point down (DESIGN.md section 2): read every module's imports and fail on a
forbidden arrow, a cycle, or an in-package import hidden in a function body.

Layers, from the top: the CLI; evaluation (`eval/`); training (`train/`) and its data (`data/`);
inference (everything else: pipeline, conditioning, sampling, warp, crop, masks, nn/, pose/ ...).
Inference imports nothing from training, data or evaluation; nothing but the CLI's entry points
imports the CLI.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ilat_video"

# layer -> the layers it may import from (its own included)
ALLOWED = {
    "cli": {"cli", "eval", "train", "data", "inference"},
    "eval": {"eval", "train", "data", "inference"},
    "train": {"train", "data", "inference"},
    "data": {"data", "inference"},
    "inference": {"inference"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ("cli", "eval", "train", "data"):
        return parts[1]
    if module == "ilat_video.__main__":
        return "cli"
    return "inference"


def resolve(module: str, node: ast.ImportFrom) -> list[str]:
    """The in-package modules a `from ... import ...` names (a submodule where a name is one)."""
    is_package = MODULES[module].name == "__init__.py"
    if node.level:
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not target.startswith("ilat_video"):
        return []
    found = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        found.append(sub if sub in MODULES else target)
    return found


def imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function body) for every in-package import of `module`."""
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    out = []

    def visit(node, in_function: bool):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom):
                out.extend((m, child.lineno, in_function) for m in resolve(module, child))
            elif isinstance(child, ast.Import):
                out.extend((a.name, child.lineno, in_function) for a in child.names if a.name.startswith("ilat_video"))
            visit(child, nested)

    visit(tree, False)
    return [(m if m in MODULES else m.rsplit(".", 1)[0], line, lazy) for m, line, lazy in out]


GRAPH = {m: imports(m) for m in MODULES}


def test_the_package_is_read_whole():
    assert {"ilat_video.pipeline", "ilat_video.conditioning", "ilat_video.eval.run", "ilat_video.cli"} <= set(MODULES)
    assert any(t == "ilat_video.conditioning" for t, _, _ in GRAPH["ilat_video.square"])


def test_imports_point_down():
    wrong = [f"{MODULES[m].relative_to(PACKAGE.parent)}:{line} ({layer(m)}) imports {t} ({layer(t)})"
             for m, found in GRAPH.items() for t, line, _ in found if layer(t) not in ALLOWED[layer(m)]]
    assert wrong == []


def test_no_import_cycles():
    """Module-level imports form no cycle (a package's __init__ handing on its submodules' names
    is an arrow to them, as any other)."""
    edges = {m: {t for t, _, lazy in found if not lazy and t != m} for m, found in GRAPH.items()}
    state, stack, cycles = {}, [], []

    def walk(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open" and not nxt.startswith(node + "."):
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = "done"

    for module in sorted(edges):
        if module not in state:
            walk(module)
    # A package importing its own submodules while one of them imports a sibling through the
    # package is fine for Python only by luck of order: count it as a cycle too, except the
    # package -> submodule -> package's parent chain that every relative import makes.
    assert [c for c in cycles if not all(b.startswith(a + ".") or a.startswith(b + ".") for a, b in zip(c, c[1:]))] == []


def test_in_package_imports_sit_at_the_top_of_files():
    """Lazy imports are for heavy optional modules (torch for the CLI's --help, mediapipe, cv2),
    never to hide an arrow inside the package. The CLI may defer the library until a command runs."""
    hidden = [f"{MODULES[m].relative_to(PACKAGE.parent)}:{line} imports {t}"
              for m, found in GRAPH.items() if layer(m) != "cli" for t, line, lazy in found if lazy]
    assert hidden == []


@pytest.mark.parametrize("module", ["ilat_video.pipeline", "ilat_video.sampling", "ilat_video.conditioning"])
def test_the_rule_would_catch_a_forbidden_arrow(module, monkeypatch):
    """The check itself can fail: an inference module importing training is reported."""
    fake = GRAPH[module] + [("ilat_video.train.losses", 1, False)]
    monkeypatch.setitem(GRAPH, module, fake)
    with pytest.raises(AssertionError):
        test_imports_point_down()
