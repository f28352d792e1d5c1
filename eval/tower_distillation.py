"""Experiment (issue 12, part 2): can a short retrieval tower replace the 6 frozen layers?

The served model runs 18 layers per post: the frozen trunk (base layers 0-5), the fine-tuned
head branch (6) and the frozen retrieval tower (base layers 6-11). This distils the tower into
a K-layer student on top of the same frozen trunk (initialised from the named base layers),
matching the tower's normalised embedding (1 - cosine) and the in-batch similarity matrix,
on training text only: train posts, train queries, the knowledge base's passages and
customer questions (and, with `--extra-kb N`, the first N answers of the generated benchmark
knowledge base, which is made from the shipped answers only). It then scores retrieval with
the teacher and each student on the test queries against the knowledge base (dense only) and
on the Rijksoverheid FAQ pairs (read in place, evaluation only). The quality guard of the
issue: within 0.01 of the teacher.

With `--student-on heads --model DIR` the student sits on the trained model's fine-tuned head
branch instead of the trunk: the post then needs trunk + head branch + K student layers
(12 + K instead of 18). A layer spec `linear` is a student with no layers: one linear map,
initialised as the identity, on the head branch's mean-pooled output (12 layers per post).

`python -m eval.tower_distillation --layers 6,11 8,11 [--student-on trunk|heads] [--model DIR]
[--extra-kb N] [--epochs 6] [--json OUT]`
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from eval.external import FAQ_PAIRS, default_external_dir, faq_pairs
from models.data_io import post_text
from models.encoder import PASSAGE, QUERY, load_tokenizer, load_transformer, mean_pool
from models.inference import passage_text
from models.metrics import ranking_metrics
from training.corpus import load_corpus
from training.model import additive_mask


class Student(torch.nn.Module):
    """K transformer layers (copies of base layers), mean pooling, an optional linear map."""

    def __init__(self, layers: list[Any], linear: int = 0) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(layers)
        self.proj = torch.nn.Linear(linear, linear) if linear else None
        if self.proj is not None:
            torch.nn.init.eye_(self.proj.weight)
            torch.nn.init.zeros_(self.proj.bias)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pooled = mean_pool(run_layers(self.layers, h, mask), mask, normalize=self.proj is None)
        return pooled if self.proj is None else torch.nn.functional.normalize(self.proj(pooled), dim=-1)


class Tower:
    def __init__(self, base: str, trunk: int = 6, max_length: int = 128, branch: Any = None) -> None:
        self.trunk_layers = trunk
        self.model = load_transformer(base).eval()
        self.tokenizer = load_tokenizer(base)
        self.layers = self.model.encoder.layer
        self.teacher = Student(list(self.layers[trunk:]))
        self.branch = branch  # fine-tuned layers the students run on (None: on the trunk)
        self.max_length = max_length

    def trunk(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        with torch.inference_mode():
            h = self.model.embeddings(input_ids=enc["input_ids"])
            h = run_layers(self.layers[:self.trunk_layers], h, enc["attention_mask"])
        return h, enc["attention_mask"]

    def student_input(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.branch is None:
            return h
        with torch.inference_mode():
            return run_layers(self.branch, h, mask)

    def embed(self, student: Student, texts: list[str], bs: int = 64) -> np.ndarray:
        order = np.argsort([len(t) for t in texts])
        out = np.zeros((len(texts), self.model.config.hidden_size), np.float32)
        for i in range(0, len(texts), bs):
            idx = order[i:i + bs]
            h, mask = self.trunk([texts[j] for j in idx])
            if student is not self.teacher:
                h = self.student_input(h, mask)
            with torch.inference_mode():
                out[idx] = student(h, mask).numpy()
        return out


def run_layers(stack: Any, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = additive_mask(mask, h.dtype)
    for layer in stack:
        out = layer(h, attention_mask=m)
        h = out[0] if isinstance(out, tuple) else out
    return h


def distil(tower: Tower, texts: list[str], init: tuple[int, ...], epochs: int, lr: float = 5e-5,
           bs: int = 32) -> Student:
    """`init` empty: the linear student (a higher learning rate suits a single linear map)."""
    order = np.argsort([len(t) for t in texts])
    cached = []
    for i in range(0, len(texts), bs):  # student input and teacher embedding, computed once
        h, mask = tower.trunk([texts[j] for j in order[i:i + bs]])
        with torch.inference_mode():
            teacher = tower.teacher(h, mask)
        # clones outside inference mode can take gradients
        cached.append((tower.student_input(h, mask).clone(), mask, teacher.clone()))
    hidden = tower.model.config.hidden_size
    student = Student([copy.deepcopy(tower.layers[i]) for i in init], linear=0 if init else hidden).train()
    lr = lr if init else 1e-3
    opt = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * len(cached)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, (steps - s) / steps))
    rng = np.random.default_rng(0)
    for epoch in range(epochs):
        total = 0.0
        for b in rng.permutation(len(cached)):
            h, mask, teacher = cached[b]
            s = student(h, mask)
            loss = (1 - (s * teacher).sum(-1)).mean() + ((s @ s.T - teacher @ teacher.T) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        print(f"  student {init} epoch {epoch + 1}: loss {total / len(cached):.5f}", flush=True)
    return student.eval()


def retrieval(tower: Tower, stack: Student, corpus: Any, faq: tuple[list[str], list[str]]) -> dict[str, float]:
    queries = corpus.queries.splits["test"]
    scores = (tower.embed(stack, [QUERY + post_text(q) for q in queries])
              @ tower.embed(stack, [PASSAGE + passage_text(a) for a in corpus.kb]).T)
    kb = ranking_metrics(scores, [a["id"] for a in corpus.kb], [q["relevant"] for q in queries])
    f = tower.embed(stack, [QUERY + q for q in faq[0]]) @ tower.embed(stack, [PASSAGE + p for p in faq[1]]).T
    fm = ranking_metrics(f, [str(i) for i in range(len(faq[1]))], [[str(i)] for i in range(len(faq[0]))])
    return {"test_recall@1": round(kb["recall@1"], 4), "test_mrr@10": round(kb["mrr@10"], 4),
            "faq_recall@1": round(fm["recall@1"], 4), "faq_mrr@10": round(fm["mrr@10"], 4)}


def head_branch(model_dir: Path) -> tuple[Any, int]:
    """The trained model's fine-tuned head-branch layers and where they start (its tower_from)."""
    from training.train import load_checkpoint_model

    _, model = load_checkpoint_model(model_dir)
    if not model.tower_from:
        raise SystemExit(f"{model_dir} has no retrieval tower: nothing to distil")
    return model.encoder.encoder.layer[model.tower_from:], model.tower_from


def distillation_texts(corpus: Any, extra_kb: int) -> list[str]:
    """Training text only: train posts and queries, the knowledge base, generated answers."""
    kb = list(corpus.kb)
    if extra_kb:
        from bench.kb_corpus import generate, load_shipped

        shipped = load_shipped()  # the generator's source: the shipped answers come first, unchanged
        kb += generate(len(shipped) + extra_kb, shipped)[len(shipped):]
    return ([QUERY + post_text(r) for r in corpus.posts.splits["train"]]
            + [QUERY + post_text(q) for q in corpus.queries.splits["train"]]
            + [PASSAGE + passage_text(a) for a in kb]
            + [QUERY + a["question"] for a in kb if a.get("question")])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.tower_distillation")
    ap.add_argument("--base", default="models/base")
    ap.add_argument("--data", default="training/data")
    ap.add_argument("--layers", nargs="+", default=["6,11"],
                    help="base layers that initialise each student, or 'linear' (no layers, one linear map)")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--trunk", type=int, default=6, help="frozen trunk layers (the served model's tower_from)")
    ap.add_argument("--student-on", choices=["trunk", "heads"], default="trunk",
                    help="run the students on the frozen trunk or on the trained model's head branch")
    ap.add_argument("--model", default="models/default", help="trained model (for --student-on heads)")
    ap.add_argument("--extra-kb", type=int, default=0, help="add N generated benchmark answers as text")
    ap.add_argument("--faq", default=str(default_external_dir() / FAQ_PAIRS), help="Rijksoverheid FAQ pairs (TSV)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    branch, trunk = head_branch(Path(args.model)) if args.student_on == "heads" else (None, args.trunk)
    tower, corpus = Tower(args.base, trunk, branch=branch), load_corpus(args.data)
    texts = distillation_texts(corpus, args.extra_kb)
    faq = faq_pairs(Path(args.faq))
    n_teacher = len(tower.teacher.layers)
    results = {f"teacher ({n_teacher} frozen layers)": retrieval(tower, tower.teacher, corpus, faq)}
    print(json.dumps(results), flush=True)
    on = "the head branch" if branch is not None else "the trunk"
    for spec in args.layers:
        init = () if spec == "linear" else tuple(int(x) for x in spec.split(","))
        t0 = time.perf_counter()
        student = distil(tower, texts, init, args.epochs)
        name = f"student on {on}: " + (f"{len(init)} layers from {init}" if init else "a linear map")
        results[name] = {**retrieval(tower, student, corpus, faq), "seconds": round(time.perf_counter() - t0)}
        print(json.dumps(results), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"distillation_texts": len(texts), "student_on": args.student_on,
                                               "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
