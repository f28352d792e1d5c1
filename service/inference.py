"""ONNX inference for a triage model directory: one encoder pass per post gives
the head logits and the retrieval embedding. Imports no torch.

Model directory contract (see models/artifact.py):
    manifest.json   kind "triage-model", label_sets, calibration (temperature per
                    head), thresholds (abstain below this calibrated confidence),
                    retrieval {"threshold", "query_prefix", "passage_prefix"}, max_length
    model.onnx      inputs input_ids, attention_mask (int64, [batch, tokens]);
                    outputs logits_<head> [batch, n_labels] per head, embedding [batch, dim]
                    (mean-pooled, L2-normalised)
    tokenizer.json
    answerability.json  optional: "does this answer solve this post?" (models/answerability.py)
    kb_embeddings.npz   optional: passage embeddings of the training knowledge base, keyed by
                    the sha256 of the passage text, so seeding that knowledge base at first
                    start costs no encoder runs (checked against the manifest like the rest)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from models.answerability import FILE as ANSWERABILITY_FILE
from models.answerability import AnswerabilityModel
from models.artifact import ArtifactError, Manifest, load_manifest

ONNX_FILE = "model.onnx"
KB_CACHE_FILE = "kb_embeddings.npz"


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
                 verify_files: bool = True, spinning: bool = False) -> None:
        self.directory = Path(directory)
        self.manifest: Manifest = load_manifest(self.directory, kind="triage-model", verify_files=verify_files)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = intra_threads
        opts.inter_op_num_threads = inter_threads
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "1" if spinning else "0")
        self.session = ort.InferenceSession(str(self.directory / ONNX_FILE), opts,
                                            providers=["CPUExecutionProvider"])
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

    def _load_answerability(self) -> AnswerabilityModel | None:
        """The answerability model (answerability.json), hash-checked through the manifest."""
        if not (self.directory / ANSWERABILITY_FILE).is_file():
            return None
        if ANSWERABILITY_FILE not in self.manifest.files:
            raise ArtifactError(f"{self.directory}: {ANSWERABILITY_FILE} is not listed in the manifest "
                                "(fit it with `python -m training fit-answerability`)")
        try:
            return AnswerabilityModel.load(self.directory)
        except ValueError as exc:
            raise ArtifactError(f"{self.directory}: invalid {ANSWERABILITY_FILE}: {exc}") from exc

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
        names = {o.name: o for o in self.session.get_outputs()}
        for head, labels in self.manifest.label_sets.items():
            out = names.get(f"logits_{head}")
            if out is None:
                raise ArtifactError(f"{self.directory}: model.onnx has no output logits_{head}")
            if isinstance(out.shape[-1], int) and out.shape[-1] != len(labels):
                raise ArtifactError(f"{self.directory}: logits_{head} has {out.shape[-1]} classes, "
                                    f"the manifest lists {len(labels)}")
        if "embedding" not in names:
            raise ArtifactError(f"{self.directory}: model.onnx has no output 'embedding'")

    def encode(self, texts: list[str], prefix: str) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask [batch, longest text] for `prefix + text` (int64, padded here)."""
        encs = self.tokenizer.encode_batch([prefix + t for t in texts])
        width = max(len(e.ids) for e in encs)
        ids = np.full((len(encs), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encs), width), dtype=np.int64)
        for i, e in enumerate(encs):
            ids[i, :len(e.ids)] = e.ids
            mask[i, :len(e.ids)] = e.attention_mask
        return ids, mask

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
        feeds = {"input_ids": ids, "attention_mask": mask}
        if embedding_only:
            return {}, self.session.run(["embedding"], feeds)[0]
        outs = self.session.run(self._outputs, feeds)
        return {h: outs[i] for i, h in enumerate(self.heads)}, outs[-1]

    def probabilities(self, logits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Calibrated probabilities: softmax(logits / temperature) per head."""
        return {h: softmax(z / float(self.manifest.calibration.get(h, 1.0))) for h, z in logits.items()}

    def predict(self, texts: list[str]) -> tuple[list[dict[str, HeadPrediction]], np.ndarray]:
        logits, emb = self.run(texts)
        probs = self.probabilities(logits)
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
        shape = [o for o in self.session.get_outputs() if o.name == "embedding"][0].shape
        return int(shape[-1])


def passage_text(answer: dict) -> str:
    """What the retriever embeds for a knowledge-base answer: title + question + answer."""
    parts = [answer.get("title") or "", answer.get("question") or "", answer.get("answer") or ""]
    return "\n".join(p.strip() for p in parts if p and p.strip())
