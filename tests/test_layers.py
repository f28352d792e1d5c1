"""Imports point one way: models/ at the bottom, training/ and service/ on it, eval/ and bench/ on
top. Every import counts, also the ones inside functions (a lazy import is still a dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "training", "service", "eval", "bench")
MAY_NOT_IMPORT = {
    "models": {"training", "service", "eval", "bench"},
    "training": {"service", "eval", "bench"},
    "service": {"training", "eval", "bench"},
}
# training commands that read or fill the service's store (python -m training export-feedback,
# import-threads): the only places a lower layer reaches sideways, and only when the command runs
ALLOWED = {("training/feedback_export.py", "service"), ("training/__main__.py", "service")}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


def test_imports_point_one_way() -> None:
    wrong = []
    for package, forbidden in MAY_NOT_IMPORT.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for other in sorted(imported_packages(path) & forbidden):
                if (rel, other) not in ALLOWED:
                    wrong.append(f"{rel} imports {other}")
    assert wrong == []


def test_the_check_sees_lazy_imports(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("import numpy\n\ndef f():\n    from service.store import Store\n    import eval.cli\n")
    assert imported_packages(f) == {"service", "eval"}
