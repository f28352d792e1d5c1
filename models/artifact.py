"""The model artifact contract.

Every model directory Wegwijzer writes or reads carries `manifest.json`
(validated here) and a generated `README.md` model card:

    <dir>/manifest.json     format version, kind, base model and its source with
                            sha256, label sets, library versions, training-data
                            hash, metrics, calibration, thresholds, file hashes
    <dir>/README.md         model card generated from the manifest
    <dir>/...               the files listed in manifest.files

`load_manifest` fails with a clear `ArtifactError` when anything does not match.
"""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CARD = "README.md"
TRACKED_LIBRARIES = ("torch", "transformers", "sentence-transformers", "tokenizers",
                     "onnxruntime", "onnx", "numpy")


class ArtifactError(RuntimeError):
    """A model directory does not satisfy the artifact contract."""


class SourceInfo(BaseModel):
    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Manifest(BaseModel):
    format_version: int
    kind: Literal["base-encoder", "triage-model"]
    base_model: str
    source: SourceInfo | None = None
    label_sets: dict[str, list[str]] = Field(default_factory=dict)
    library_versions: dict[str, str] = Field(default_factory=dict)
    training_data_sha256: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    calibration: dict[str, float] = Field(default_factory=dict)
    thresholds: dict[str, float] = Field(default_factory=dict)
    retrieval: dict[str, Any] = Field(default_factory=dict)  # threshold, prompts, encoder choice
    max_length: int = 256
    files: dict[str, str] = Field(default_factory=dict)  # relative path -> sha256
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: str = ""

    @property
    def embedding_sha(self) -> str:
        """What stored answer embeddings and index snapshots are keyed by: the identity of the passage
        embedding (retrieval.embedding_sha: its weights, tokenizer and settings, shared by retrained
        models on one frozen tower) where the model has one, else its graph's sha."""
        return str(self.retrieval.get("embedding_sha") or self.files.get("model.onnx", ""))

    @model_validator(mode="after")
    def _check(self) -> Manifest:
        if self.format_version != FORMAT_VERSION:
            raise ValueError(f"format_version {self.format_version} is not supported (expected {FORMAT_VERSION})")
        for head, labels in self.label_sets.items():
            if len(labels) < 2 or len(set(labels)) != len(labels):
                raise ValueError(f"label set {head!r} needs at least two distinct labels, got {labels}")
        for head in list(self.calibration) + list(self.thresholds):
            if head not in self.label_sets:
                raise ValueError(f"calibration/threshold for unknown head {head!r}")
        if self.kind == "triage-model" and not self.label_sets:
            raise ValueError("a triage model needs label_sets")
        return self


def library_versions(libraries: tuple[str, ...] = TRACKED_LIBRARIES) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in libraries:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            continue
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(directory: Path, manifest: Manifest, hashed_files: list[str]) -> Manifest:
    """Hash `hashed_files`, stamp versions and time, write manifest.json and the model card."""
    manifest.files = {name: sha256_of(directory / name) for name in hashed_files}
    if not manifest.library_versions:
        manifest.library_versions = library_versions()
    manifest.created_at = manifest.created_at or datetime.now(UTC).isoformat(timespec="seconds")
    (directory / MANIFEST).write_text(manifest.model_dump_json(indent=2))
    from models.model_card import render_model_card

    (directory / CARD).write_text(render_model_card(manifest))
    return manifest


def load_manifest(directory: str | Path, kind: str | None = None, verify_files: bool = True,
                  label_sets: dict[str, list[str]] | None = None) -> Manifest:
    """Read and validate `directory`/manifest.json; raise ArtifactError with the reason."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{directory}: no {MANIFEST}; is this a Wegwijzer model directory?")
    try:
        manifest = Manifest.model_validate(json.loads(path.read_text()))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ArtifactError(f"{path}: invalid manifest: {exc}") from exc
    if kind and manifest.kind != kind:
        raise ArtifactError(f"{directory}: expected a {kind} artifact, found {manifest.kind}")
    if label_sets is not None and manifest.label_sets != label_sets:
        raise ArtifactError(f"{directory}: label sets {manifest.label_sets} do not match the expected {label_sets}")
    for name in manifest.files:
        if not (directory / name).is_file():
            raise ArtifactError(f"{directory}: file {name} listed in the manifest is missing")
    if verify_files:
        verify_hashes(directory, manifest, list(manifest.files))
    return manifest


def verify_hashes(directory: Path, manifest: Manifest, names: list[str]) -> None:
    """Check the listed files' sha256 against the manifest (files the manifest does not list are
    skipped): a loader that uses only some files (one runtime's graph) hashes only those."""
    for name in names:
        digest = manifest.files.get(name)
        if digest is not None and sha256_of(Path(directory) / name) != digest:
            raise ArtifactError(f"{directory}: file {name} does not match its sha256 in the manifest "
                                "(modified or corrupted)")
