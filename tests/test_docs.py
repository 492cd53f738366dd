"""The documents say what the code and the results files say."""

import ast
import subprocess
import sys
from pathlib import Path

from sco_qa.config import MAX_K

from .conftest import ROOT


def test_figures_are_written_from_the_results_files() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "tables.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_states_the_error_codes_and_limits() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "is 422" in readme and f"`top_k` out of 1–{MAX_K}" in readme
    assert readme.startswith("# sco-qa\n\n```\nmake run\nmake test\n```")


def _undocumented(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = [] if ast.get_docstring(tree) else [f"{path.name}: module"]
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.ClassDef) or node.name.startswith("_"):
            continue
        out += [] if ast.get_docstring(node) else [f"{path.name}: {node.name}"]
        methods = node.body if isinstance(node, ast.ClassDef) else []
        out += [
            f"{path.name}: {node.name}.{m.name}"
            for m in methods
            if isinstance(m, ast.FunctionDef)
            and not m.name.startswith("_")
            and not ast.get_docstring(m)
        ]
    return out


def test_every_public_name_has_a_docstring() -> None:
    missing = [m for p in sorted((ROOT / "sco_qa").rglob("*.py")) for m in _undocumented(p)]
    assert not missing, missing


def test_every_setting_is_in_the_readme() -> None:
    from sco_qa.config import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [n for n in Settings.model_fields if f"SCO_QA_{n.upper()}" not in readme]
    assert not missing, missing


def test_the_python_api_is_exported_sorted_and_documented() -> None:
    import sco_qa

    assert sco_qa.__all__ == sorted(sco_qa.__all__)
    for name in ("Engine", "Settings", "load_settings", "Answer", "Citation", "ScoQaError"):
        assert name in sco_qa.__all__
    for name in sco_qa.__all__:
        assert getattr(sco_qa, name).__doc__, name
    assert sco_qa.Engine.ask.__doc__ and sco_qa.Engine.open.__doc__
