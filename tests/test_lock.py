"""The committed lock files: they pin every declared dependency, serving stays torch-free,
and the drift check catches what it is there to catch."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("check_lock", ROOT / "requirements" / "check_lock.py")
assert spec and spec.loader
check_lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_lock)


def test_locks_pin_every_declared_dependency() -> None:
    dev = check_lock.locked(ROOT / "requirements" / "dev.lock")
    serve = check_lock.locked(ROOT / "requirements" / "serve.lock")
    assert check_lock.declared(ROOT / "pyproject.toml", ["train", "dev", "backfill"]) <= set(dev)
    assert check_lock.declared(ROOT / "pyproject.toml", []) <= set(serve)
    assert dev["torch"].startswith("2.13.0")  # the local CPU wheel, never a CUDA build
    assert not any(name.startswith("nvidia-") or name == "triton" for name in dev)


def test_serving_lock_has_no_torch() -> None:
    serve = check_lock.locked(ROOT / "requirements" / "serve.lock")
    assert "torch" not in serve and "transformers" not in serve
    assert {"onnxruntime", "tokenizers", "fastapi"} <= set(serve)


def test_locks_are_hash_checked() -> None:
    for name in ("dev.lock", "serve.lock"):
        text = (ROOT / "requirements" / name).read_text(encoding="utf-8")
        assert text.count("==") <= text.count("--hash=sha256:"), name


def test_drift_is_reported() -> None:
    pins = {"fastapi": "0.165.0", "numpy": "2.4.6"}
    assert check_lock.drift(pins, {"fastapi": "0.165.0", "numpy": "2.4.6", "pip": "26.3"}) == []
    problems = check_lock.drift(pins, {"fastapi": "0.166.0", "requests": "2.0", "pip": "26.3"})
    assert problems == ["fastapi: locked at 0.165.0, installed 0.166.0", "numpy: locked at 2.4.6, not installed",
                        "requests: installed 2.0, not in the lock"]
    assert check_lock.canonical("Typing_Extensions") == "typing-extensions"
