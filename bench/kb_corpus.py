"""A realistic benchmark knowledge base: ~100k varied Dutch answers made from the shipped ones.

`python -m bench.kb_corpus embed [--n 100000]` generates the answers and embeds them with the
served model (`TriageModel.embed_passages`, in chunks of CHUNK, resumable: finished chunks are
kept under bench/.cache/ and skipped on the next run; run it under `nice -n 19`).
`python -m bench.kb_corpus sample [--n 5]` prints a few generated answers.

Source: only training/data/kb.jsonl (the 520 shipped knowledge-base answers); never the posts,
the eval/test splits or ../shared/external-eval. The shipped answers come first, unchanged, with
their own ids, so search quality on real queries can still find them. Every generated answer:

- starts from one shipped answer (its topic, product and url kept; a new id `gen-NNNNNN`);
- title: the base title, sometimes with a product/plan phrase, or a question form of it;
- question: the base question, with a varied opener/closer and, half the time, its sentences
  recombined with a sentence of another shipped question of the same topic;
- answer: the base answer's first sentence, then a random subset (in order) of its other
  sentences mixed with 1-3 sentences from other answers of the same topic (same product when
  there are enough), sometimes an opener or a closer;
- substitutions everywhere, within the base's product label so labels stay true: device models
  (iPhone 13 -> iPhone 15 Pro, Galaxy S21 -> Galaxy A54, Pixel 7 -> Fairphone 5, ...), modem/TV
  box names, bundle sizes (GB), prices (EUR amounts), numbers of days/months/hours;
- duplicates (same normalised title+question+answer) are dropped and generation goes on.

Rows are produced in a fixed order (seeded), so the first n of any size are the same answers:
a 20k benchmark knowledge base is a prefix of the 100k one. GENERATOR_VERSION changes when the
output changes; the embedding cache is keyed by it and by the model's hash.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

GENERATOR_VERSION = 1
SEED = 20261206
KB = Path("training/data/kb.jsonl")
CACHE = Path("bench/.cache")
CHUNK = 2_000

_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9'\"(€])")

DEVICES = {
    "apple": ["iPhone 12", "iPhone 13", "iPhone 13 mini", "iPhone 14", "iPhone 14 Pro", "iPhone 15", "iPhone 15 Pro",
              "iPhone 16", "iPhone SE", "iPad", "iPad Air", "Apple Watch"],
    "samsung": ["Galaxy S21", "Galaxy S22", "Galaxy S23", "Galaxy S24", "Galaxy A34", "Galaxy A54", "Galaxy A15",
                "Galaxy Z Flip5", "Galaxy Z Fold5", "Galaxy Tab S9", "Galaxy Watch6"],
    "other_device": ["Pixel 7", "Pixel 8", "Pixel 8a", "Fairphone 4", "Fairphone 5", "OnePlus 12", "Xiaomi 13T",
                     "Motorola Edge 40", "Nokia G42", "Oppo Find X5", "Huawei P30"],
    "modem_tv": ["modem", "wifi-modem", "Smart Modem", "router", "tv-ontvanger", "mediabox", "wifi-versterker",
                 "mesh-punt"],
}
# One pass per text: a known model name, or a brand with an optional model (the longest match wins).
_BRAND = r"(?:Google |Samsung |Apple )?(?:iPhone|iPad|Galaxy|Pixel|Fairphone|OnePlus|Xiaomi|Motorola|Nokia|Oppo|Huawei)"
_DEVICE_RE = {p: re.compile("|".join([*sorted((re.escape(d) for d in ds), key=len, reverse=True)]
                                     + ([rf"\b{_BRAND}(?: (?:[A-Z] ?)?\d+\w*| SE)?(?: (?:Pro|mini|Plus|Ultra|Max))*"]
                                        if p != "modem_tv" else [])))
              for p, ds in DEVICES.items()}
_GB = re.compile(r"\b(\d{1,3}) ?GB\b")
_EUR = re.compile(r"€ ?(\d{1,3}),(\d{2})")
_EUR_WHOLE = re.compile(r"€ ?(\d{1,4})(?![\d,])")
_DAYS = re.compile(r"\b(\d{1,2}) (dagen|werkdagen|maanden|weken|uur)\b")
Q_OPEN = ["", "", "", "Hoi, ", "Hallo, ", "Hallo allemaal, ", "Vraagje: ", "Goedemiddag, ", "Beste forumleden, ",
          "Even een vraag. ", "Help! ", "Wie kan me helpen? "]
Q_CLOSE = ["", "", "", " Alvast bedankt!", " Wie weet raad?", " Groetjes.", " Iemand ervaring mee?",
           " Bedankt voor het meedenken.", " Ik hoor het graag."]
A_OPEN = ["", "", "", "", "Goede vraag! ", "Hoi! ", "Dat kan. ", "Herkenbaar. ", "Bedankt voor je bericht. ",
          "Fijn dat je het vraagt. "]
A_CLOSE = ["", "", "", "", " Succes!", " Laat je even weten of het gelukt is?",
           " Kom je er niet uit, reageer dan hier.", " Hopelijk helpt dit.", " Groet, het forumteam."]
TITLE_FORMS = ["{t}", "{t}", "{t}", "{t} ({d})", "Vraag: {t}", "{t} - hoe zit dat?", "Hulp nodig: {t}", "{t} op de {d}"]


def load_shipped(path: Path = KB) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT.split(text or "") if s.strip()]


class Generator:
    def __init__(self, shipped: list[dict[str, Any]], seed: int = SEED) -> None:
        self.shipped = shipped
        self.rng = random.Random(seed)
        self.answer_pool: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.topic_pool: dict[str, list[str]] = defaultdict(list)
        self.question_pool: dict[str, list[str]] = defaultdict(list)
        for a in shipped:
            for s in sentences(a["answer"])[1:]:
                self.answer_pool[(a["topic"], a.get("product") or "none")].append(s)
                self.topic_pool[a["topic"]].append(s)
            self.question_pool[a["topic"]] += sentences(a.get("question") or "")

    def _sub(self, text: str, product: str, device: str) -> str:
        rng = self.rng
        if product in _DEVICE_RE:
            text = _DEVICE_RE[product].sub(device, text)
        text = _GB.sub(lambda m: f"{rng.choice([1, 2, 3, 5, 6, 10, 15, 20, 25, 30, 40, 50, 100])} GB", text)
        text = _EUR.sub(lambda m: f"€{rng.randint(0, 60)},{rng.choice(['00', '50', '95', '99', '49', '25'])}", text)
        text = _EUR_WHOLE.sub(lambda m: f"€{max(1, int(int(m.group(1)) * rng.uniform(0.5, 2.0)))}", text)
        return _DAYS.sub(lambda m: f"{max(1, int(int(m.group(1)) * rng.uniform(0.5, 2.0)) or 1)} {m.group(2)}", text)

    def _pick(self, pool: list[str], avoid: set[str], n: int) -> list[str]:
        out = []
        for _ in range(n * 4):
            if len(out) == n or not pool:
                break
            s = self.rng.choice(pool)
            if s not in avoid and s not in out:
                out.append(s)
        return out

    def one(self, number: int) -> dict[str, Any]:
        rng = self.rng
        base = rng.choice(self.shipped)
        topic, product = base["topic"], base.get("product") or "none"
        own = sentences(base["answer"])
        keep = [s for s in own[1:] if rng.random() < 0.7]
        pool = self.answer_pool[(topic, product)]
        foreign = self._pick(pool if len(pool) >= 20 else self.topic_pool[topic], set(own), rng.randint(1, 3))
        body = keep + foreign
        rng.shuffle(body) if rng.random() < 0.3 else None
        if not body and own[1:]:
            body = own[1:2]
        answer = rng.choice(A_OPEN) + " ".join(own[:1] + body) + rng.choice(A_CLOSE)
        q = sentences(base.get("question") or "")
        if q and rng.random() < 0.5:
            extra = self._pick(self.question_pool[topic], set(q), 1)
            q = q[:1] + extra + q[1:] if rng.random() < 0.5 else q + extra
        question = (rng.choice(Q_OPEN) + " ".join(q) + rng.choice(Q_CLOSE)).strip()
        device = rng.choice(DEVICES.get(product, ["abonnement", "Sim Only", "prepaid", "bundel", "app"]))
        title = rng.choice(TITLE_FORMS).format(t=base["title"], d=device)  # one device in all three fields
        return {"id": f"gen-{number:06d}", "title": self._sub(title, product, device),
                "question": self._sub(question, product, device), "answer": self._sub(answer, product, device),
                "topic": topic, "product": base.get("product"), "url": base.get("url")}


def generate(n: int, shipped: list[dict[str, Any]] | None = None, seed: int = SEED) -> list[dict[str, Any]]:
    """The shipped answers, then generated ones, deduplicated, n in all (the shipped first)."""
    shipped = load_shipped() if shipped is None else shipped
    rows = [dict(a) for a in shipped[:n]]
    seen = {_key(a) for a in rows}
    gen = Generator(shipped, seed)
    number = 0
    while len(rows) < n:
        row = gen.one(number)
        number += 1
        if (k := _key(row)) not in seen:
            seen.add(k)
            rows.append(row)
    return rows


def _key(a: dict[str, Any]) -> str:
    text = " ".join(str(a.get(f) or "") for f in ("title", "question", "answer")).lower()
    return hashlib.sha256(re.sub(r"\W+", " ", text).encode()).hexdigest()


def cache_dir(embedding_sha: str) -> Path:
    """Where the embeddings of the benchmark answers are cached: keyed by the model's embedding_sha
    (models/artifact.py), so a retrained model on the same frozen tower reuses them (at 100k answers
    they take ~16 min to embed on 2 cores); a model without one is keyed by its graph's sha."""
    return CACHE / f"kb-v{GENERATOR_VERSION}-{embedding_sha[:12]}"


def embeddings(model: Any, n: int, log: bool = False) -> tuple[list[dict[str, Any]], np.ndarray]:
    """The first n generated answers and their embeddings, embedding (and caching) missing chunks."""
    from models.inference import passage_text

    every = generate(-(-n // CHUNK) * CHUNK)  # whole chunks: a chunk's vectors never depend on n
    rows = every[:n]
    folder = cache_dir(model.embedding_sha)
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for c in range(0, n, CHUNK):
        full = folder / f"chunk-{c // CHUNK:05d}.npy"
        if full.is_file():
            parts.append(np.load(full)[:min(CHUNK, n - c)])
            continue
        t0 = time.perf_counter()
        todo = every[c:c + CHUNK]
        vecs = model.embed_passages([passage_text(a) for a in todo]).astype(np.float32)
        tmp = full.with_suffix(".tmp.npy")
        np.save(tmp, vecs)
        tmp.replace(full)
        if log:
            print(f"chunk {c // CHUNK}: {len(todo)} answers in {time.perf_counter() - t0:.0f} s", flush=True)
        parts.append(vecs[:min(CHUNK, n - c)])
    return rows, np.concatenate(parts) if parts else np.zeros((0, model.dim), np.float32)


def cached(embedding_sha: str, n: int) -> np.ndarray:
    """The embeddings of the first n answers (or fewer) that the cache holds, without running the model."""
    folder = cache_dir(embedding_sha)
    parts = []
    for c in range(0, n, CHUNK):
        path = folder / f"chunk-{c // CHUNK:05d}.npy"
        if not path.is_file():
            break
        parts.append(np.load(path)[:min(CHUNK, n - c)])
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def benchmark_kb(embedding_sha: str, n: int, seed: int = SEED
                 ) -> tuple[list[dict[str, Any]], np.ndarray, dict[str, Any]]:
    """n generated answers with embeddings: the model's own (cached by `embed`) for as many as the cache
    holds; the rest, until `embed` has finished, get a stand-in: the renormalised mix a*x + (1-a)*y
    (a uniform in 0.3-0.7) of the real embeddings of two answers of the same topic and product (topic
    alone when that pool is small). The description says how many of each the figures rest on."""
    rows = generate(n)
    real = cached(embedding_sha, n)
    vecs = np.zeros((n, real.shape[1] if real.size else 384), np.float32)
    m = len(real)
    if m:
        vecs[:m] = real
    if m < n:
        if m < 520:
            raise RuntimeError(f"only {m} embeddings cached in {cache_dir(embedding_sha)}: run "
                               "`nice -n 19 python -m bench.kb_corpus embed` first")
        rng = np.random.default_rng(seed)
        by_pair: dict[tuple[str, str], list[int]] = defaultdict(list)
        by_topic: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(rows[:m]):
            by_pair[(r["topic"], r.get("product") or "none")].append(i)
            by_topic[r["topic"]].append(i)
        for i in range(m, n):
            pool = by_pair[(rows[i]["topic"], rows[i].get("product") or "none")]
            pool = pool if len(pool) >= 20 else by_topic[rows[i]["topic"]]
            x, y = rng.choice(pool, size=2, replace=False)
            a = rng.uniform(0.3, 0.7)
            v = a * real[x] + (1 - a) * real[y]
            vecs[i] = v / np.linalg.norm(v)
    info = {"answers": n, "generator_version": GENERATOR_VERSION, "model_embeddings": m, "stand_in_mixes": n - m,
            "method": "bench/kb_corpus.py: the 520 shipped answers, then answers recombined from shipped ones "
                      "(same-topic sentences, substituted devices/plans/amounts, varied phrasing, deduplicated)"}
    return rows, vecs, info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.kb_corpus", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["embed", "sample", "stats"])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--model", type=Path, default=Path("models/default"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if args.command == "sample":
        for row in generate(520 + args.n)[520:]:
            print(json.dumps(row, ensure_ascii=False, indent=1))
        return 0
    if args.command == "stats":
        rows = generate(args.n)
        from models.inference import passage_text

        lengths = [len(passage_text(r)) for r in rows]
        sents = {s for r in rows for s in sentences(r["answer"])}
        print(json.dumps({"answers": len(rows), "distinct_answer_sentences": len(sents),
                          "passage_chars_mean": round(float(np.mean(lengths)), 1),
                          "distinct_answer_texts": len({r["answer"] for r in rows})}))
        return 0
    from models.inference import TriageModel

    model = TriageModel(args.model, args.threads, 1)
    rows, vecs = embeddings(model, args.n, log=True)
    print(f"{len(rows)} answers, embeddings {vecs.shape} in {cache_dir(model.embedding_sha)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
