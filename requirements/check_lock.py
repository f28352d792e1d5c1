"""Fail when the environment drifted from a lock file, or the lock from pyproject.toml.

`python requirements/check_lock.py requirements/dev.lock train dev` compares every installed
distribution with the lock's `name==version` pins: a locked package that is missing or at
another version, or an installed package the lock does not name (other than the project
itself and the installer's own tools), is drift. A dependency that pyproject.toml declares
(for the lock's extras) but the lock lacks means the lock is stale (`make lock`). Problems
are printed one per line, exit 1. Standard library only: it runs before anything is trusted.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")
ALLOWED_EXTRA = {"pip", "setuptools", "wheel", "wegwijzer"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = PIN.match(line.strip())
        if m:
            pins[canonical(m.group(1))] = m.group(2)
    return pins


def declared(pyproject: Path, extras: list[str]) -> set[str]:
    """Names of the project's requirements (base and the given extras), markers ignored."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    reqs = list(project.get("dependencies", []))
    for extra in extras:
        reqs += project.get("optional-dependencies", {}).get(extra, [])
    return {canonical(re.match(r"[A-Za-z0-9._-]+", r.strip()).group()) for r in reqs}  # type: ignore[union-attr]


def installed() -> dict[str, str]:
    return {canonical(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}


def drift(pins: dict[str, str], have: dict[str, str]) -> list[str]:
    problems = []
    for name, version in sorted(pins.items()):
        if name not in have:
            problems.append(f"{name}: locked at {version}, not installed")
        elif have[name] != version:
            problems.append(f"{name}: locked at {version}, installed {have[name]}")
    for name in sorted(set(have) - set(pins) - ALLOWED_EXTRA):
        problems.append(f"{name}: installed {have[name]}, not in the lock")
    return problems


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: check_lock.py LOCKFILE [EXTRA ...]  (the extras the lock was compiled with)", file=sys.stderr)
        return 2
    pins = locked(Path(argv[0]))
    if not pins:
        print(f"{argv[0]}: no pins found", file=sys.stderr)
        return 2
    lock = Path(argv[0])
    problems = drift(pins, installed())
    pyproject = lock.resolve().parent.parent / "pyproject.toml"
    problems += [f"{name}: declared in pyproject.toml, missing from the lock (run `make lock`)"
                 for name in sorted(declared(pyproject, argv[1:]) - set(pins))]
    for p in problems:
        print(f"lock drift ({argv[0]}): {p}", file=sys.stderr)
    if not problems:
        print(f"{argv[0]}: {len(pins)} locked packages installed exactly")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
