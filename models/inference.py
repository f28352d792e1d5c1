"""Inference for a triage model directory: one encoder pass per post gives the head logits
and the retrieval embedding, on the runtime models/runtime picks (OpenVINO or onnxruntime).
Imports no torch.

Model directory contract (see models/artifact.py):
    manifest.json   kind "triage-model", label_sets, calibration (temperature per
                    head), thresholds (abstain below this calibrated confidence),
                    retrieval {"threshold", "query_prefix", "passage_prefix"}, max_length
    model.onnx      inputs input_ids, attention_mask (int64, [batch, tokens]);
                    outputs logits_<head> [batch, n_labels] per head, embedding [batch, dim]
                    (mean-pooled, L2-normalised)
    openvino/model.xml, .bin   optional: the same graph as OpenVINO IR (fp16 weights)
    runtime_probe.npz  optional: the parity probe the chosen runtime must pass at start
    tokenizer.json
    answerability.json  optional: "does this answer solve this post?" (models/answerability.py)
    lexical_heads.npz   optional: TF-IDF + logistic-regression heads mixed into the calibrated
                    probabilities with the weight stored in it (models/lexical_heads.py)
    kb_embeddings.npz   optional: passage embeddings of the training knowledge base, keyed by
                    the sha256 of the passage text, so seeding that knowledge base at first
                    start costs no encoder runs (checked against the manifest like the rest)
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from models.answerability import FILE as ANSWERABILITY_FILE
from models.answerability import AnswerabilityModel
from models.artifact import ArtifactError, Manifest, load_manifest, verify_hashes
from models.lexical_heads import FILE as LEXICAL_FILE
from models.lexical_heads import LexicalHeads
from models.runtime import RuntimeError_, Selection, select_runtime
from models.runtime.cache import KEEP_DAYS, model_cache_folder
from models.runtime.probe import IR_BIN, padded
from models.runtime.select import FILES as RUNTIME_FILES

KB_CACHE_FILE = "kb_embeddings.npz"

log = logging.getLogger("wegwijzer.model")


def passage_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class HeadPrediction:
    label: str
    confidence: float
    alternatives: list[tuple[str, float]]
    uncertain: bool


def softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class TriageModel:
    def __init__(self, directory: str | Path, intra_threads: int = 1, inter_threads: int = 1,
                 verify_files: bool = True, spinning: bool = False, runtime: str = "auto",
                 precision: str = "auto", cache_dir: Path | None = None) -> None:
        self.directory = Path(directory)
        self.manifest: Manifest = load_manifest(self.directory, kind="triage-model", verify_files=False)
        graphs = set(RUNTIME_FILES["openvino"] + RUNTIME_FILES["onnxruntime"])
        if verify_files:  # the graphs are hashed when their runtime loads them: only the one in use
            verify_hashes(self.directory, self.manifest, [f for f in self.manifest.files if f not in graphs])
        check = (lambda names: verify_hashes(self.directory, self.manifest, names)) if verify_files else None
        # one cache folder per IR (by its hash): a compiled blob is never offered to another model
        ir_sha = self.manifest.files.get(IR_BIN)
        if cache_dir is not None and ir_sha:
            cache_dir, stale = model_cache_folder(Path(cache_dir), ir_sha)
            if stale:
                log.info("removed %d compiled-model cache folder(s) unused for %g days: %s",
                         len(stale), KEEP_DAYS, ", ".join(stale))
        else:
            cache_dir = None
        try:
            self.selection: Selection = select_runtime(
                self.directory, list(self.manifest.label_sets), runtime, precision, intra_threads, inter_threads,
                spinning, export_parity=self.manifest.metrics.get("openvino_export"), cache_dir=cache_dir,
                check_files=check)
        except RuntimeError_ as exc:
            raise ArtifactError(str(exc)) from exc
        self.runtime = self.selection.runtime
        self.tokenizer = Tokenizer.from_file(str(self.directory / "tokenizer.json"))
        self.tokenizer.no_padding()  # padding and the attention mask are built here, per batch
        self.tokenizer.enable_truncation(self.manifest.max_length)
        self.heads = list(self.manifest.label_sets)
        self._outputs = [f"logits_{h}" for h in self.heads] + ["embedding"]
        self._check_outputs()
        retrieval = self.manifest.retrieval
        self.query_prefix = retrieval.get("query_prefix", "query: ")
        self.passage_prefix = retrieval.get("passage_prefix", "passage: ")
        self.retrieval_threshold = float(retrieval.get("threshold", 0.0))
        self.lexical_weight = float(retrieval.get("lexical_weight", 0.0))
        self.lexical_candidates = int(retrieval.get("lexical_candidates", 100))
        self.pad_id = self.tokenizer.token_to_id("<pad>") or 0
        self.kb_cache = self._load_kb_cache()
        self.answerability = self._load_answerability()
        self.lexical = self._load_lexical()

    @classmethod
    def from_settings(cls, settings: Any) -> TriageModel:
        """The model as service/settings.py configures it (directory, threads, runtime)."""
        return cls(settings.model_dir, settings.intra_threads, settings.inter_threads,
                   verify_files=settings.verify_model_files, spinning=settings.ort_spinning,
                   runtime=settings.runtime, precision=settings.runtime_precision,
                   cache_dir=settings.runtime_cache_path)

    def _load_optional(self, name: str, load: Any, command: str) -> Any:
        """An optional part of the model fitted after training (None when absent), hash-checked
        through the manifest like the rest; a file the manifest does not list is refused."""
        if not (self.directory / name).is_file():
            return None
        if name not in self.manifest.files:
            raise ArtifactError(f"{self.directory}: {name} is not listed in the manifest "
                                f"(fit it with `python -m training {command}`)")
        try:
            return load(self.directory)
        except (ValueError, KeyError) as exc:
            raise ArtifactError(f"{self.directory}: invalid {name}: {exc}") from exc

    def _load_answerability(self) -> AnswerabilityModel | None:
        """The answerability model (answerability.json)."""
        return self._load_optional(ANSWERABILITY_FILE, AnswerabilityModel.load, "fit-answerability")

    def _load_lexical(self) -> LexicalHeads | None:
        """The lexical heads (lexical_heads.npz) mixed into the probabilities; a model without
        them serves the transformer's alone."""
        return self._load_optional(LEXICAL_FILE, LexicalHeads.load, "fit-lexical")

    @property
    def embedding_sha(self) -> str:
        """The key of stored answer embeddings and index snapshots (Manifest.embedding_sha)."""
        return self.manifest.embedding_sha

    def embedding_current(self, sha: str) -> bool:
        """Whether an answer embedded under `sha` needs no re-embedding for this model (stores written
        before embedding_sha existed hold the graph's sha: those of this very model are current too)."""
        return bool(sha) and sha in (self.embedding_sha, self.manifest.files.get("model.onnx", ""))

    @property
    def suggestion_threshold(self) -> float:
        """What a suggestion must reach: the answerability threshold, else the cosine threshold."""
        return self.answerability.threshold if self.answerability is not None else self.retrieval_threshold

    def _load_kb_cache(self) -> dict[str, np.ndarray]:
        path = self.directory / KB_CACHE_FILE
        if not path.is_file():
            return {}
        with np.load(path) as data:
            keys, emb = data["keys"], data["embeddings"].astype(np.float32)
        if emb.ndim != 2 or len(keys) != len(emb):
            raise ArtifactError(f"{path}: {len(keys)} keys for embeddings of shape {emb.shape}")
        return {str(k): emb[i] for i, k in enumerate(keys)}

    def _check_outputs(self) -> None:
        names = self.runtime.output_names
        what = f"{self.directory}: the {self.runtime.name} graph"
        for head, labels in self.manifest.label_sets.items():
            if f"logits_{head}" not in names:
                raise ArtifactError(f"{what} has no output logits_{head}")
            width = self.runtime.output_width(f"logits_{head}")
            if width is not None and width != len(labels):
                raise ArtifactError(f"{what}: logits_{head} has {width} classes, the manifest lists {len(labels)}")
        if "embedding" not in names:
            raise ArtifactError(f"{what} has no output 'embedding'")

    def encode(self, texts: list[str], prefix: str) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask for `prefix + text` (int64), padded to the longest text,
        rounded up to the runtime's bucket (pad_multiple tokens) where it has one."""
        encs = self.tokenizer.encode_batch([prefix + t for t in texts])
        return padded([np.asarray(e.ids) for e in encs], self.pad_id, self.runtime.pad_multiple)

    def run(self, texts: list[str], prefix: str | None = None, chunk: int = 32, embedding_only: bool = False
            ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Raw logits per head and embeddings for `texts` (one encoder pass per text).
        Large batches are cut into length-sorted chunks so little compute goes to padding.
        `embedding_only`: no logits; onnxruntime then runs only the nodes the embedding needs
        (trunk and retrieval tower, not the head branch)."""
        prefix = self.query_prefix if prefix is None else prefix
        if len(texts) <= chunk:
            return self._run_padded(texts, prefix, embedding_only)
        order = np.argsort([len(t) for t in texts], kind="stable")
        parts = [self._run_padded([texts[i] for i in order[j:j + chunk]], prefix, embedding_only)
                 for j in range(0, len(texts), chunk)]
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        logits = {h: np.concatenate([p[0][h] for p in parts])[inverse] for h in parts[0][0]}
        return logits, np.concatenate([p[1] for p in parts])[inverse]

    def _run_padded(self, texts: list[str], prefix: str, embedding_only: bool = False
                    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        ids, mask = self.encode(texts, prefix)
        if embedding_only:
            return {}, self.runtime.run(["embedding"], ids, mask)[0]
        outs = self.runtime.run(self._outputs, ids, mask)
        return {h: outs[i] for i, h in enumerate(self.heads)}, outs[-1]

    def probabilities(self, logits: dict[str, np.ndarray], texts: list[str] | None = None) -> dict[str, np.ndarray]:
        """Calibrated probabilities: softmax(logits / temperature) per head; given the texts,
        mixed with the lexical heads' where the model has them (what the service serves)."""
        probs = {h: softmax(z / float(self.manifest.calibration.get(h, 1.0))) for h, z in logits.items()}
        return self.lexical.mix(probs, texts) if self.lexical is not None and texts is not None else probs

    def predict(self, texts: list[str]) -> tuple[list[dict[str, HeadPrediction]], np.ndarray]:
        logits, emb = self.run(texts)
        probs = self.probabilities(logits, texts)
        out = []
        for i in range(len(texts)):
            row = {}
            for h in self.heads:
                labels = self.manifest.label_sets[h]
                p = probs[h][i]
                order = np.argsort(-p)[:3]
                conf = float(p[order[0]])
                row[h] = HeadPrediction(labels[order[0]], conf, [(labels[j], float(p[j])) for j in order],
                                        conf < float(self.manifest.thresholds.get(h, 0.0)))
            out.append(row)
        return out, emb

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Passage embeddings; texts found in the model's kb_embeddings.npz are not re-run."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = np.zeros((len(texts), self.dim), np.float32)
        missing = []
        for i, text in enumerate(texts):
            cached = self.kb_cache.get(passage_key(text)) if self.kb_cache else None
            if cached is None:
                missing.append(i)
            else:
                out[i] = cached
        if missing:
            out[missing] = self.run([texts[i] for i in missing], self.passage_prefix, embedding_only=True)[1]
        return out

    @property
    def dim(self) -> int:
        width = self.runtime.output_width("embedding")
        if width is None:
            raise ArtifactError(f"{self.directory}: the embedding output has no fixed width")
        return width


def passage_text(answer: dict) -> str:
    """What the retriever embeds for a knowledge-base answer: title + question + answer."""
    parts = [answer.get("title") or "", answer.get("question") or "", answer.get("answer") or ""]
    return "\n".join(p.strip() for p in parts if p and p.strip())
