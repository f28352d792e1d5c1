"""Personal-data redaction measured on the labelled posts of `tests/data/redaction.jsonl`.

`python -m eval.redaction [--split test|dev|all] [--deduce] [--json out.json]` prints, per type, recall (a labelled
span counts as found when redactions cover all of it) and precision (a redaction is right when it overlaps a labelled
span, any type; redactions on the tricky negatives count against it) for the old regexes (copied below as the
baseline), the new redactor (`models.redaction`) and, with `--deduce` where the package is installed, the Dutch
de-identification library deduce. Also: tricky non-personal strings left intact, latency per post and the cost of
starting each redactor (import + first call + memory, in a fresh interpreter). Figures depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "redaction.jsonl"
TYPES = ["PERSOON", "TELEFOON", "EMAIL", "IBAN", "BSN", "ADRES", "POSTCODE", "KLANTNUMMER", "IMEI"]
_TOKEN_TYPE = {"NAAM": "PERSOON"} | {t: t for t in TYPES if t != "PERSOON"}
_TOKEN = re.compile(r"\[(" + "|".join(_TOKEN_TYPE) + r")\]")

Spans = list[tuple[int, int, str]]

# ---------------------------------------------------------------------------------------------------------------
# Baseline: models/redact.py as it was before models.redaction (regexes only; no names, customer numbers, IMEI).
_OLD_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("[EMAIL]", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("[IBAN]", re.compile(r"\b[A-Z]{2}\d{2}\s?(?:[A-Z0-9]{4}\s?){2,7}[A-Z0-9]{1,4}\b")),
    ("[TELEFOON]", re.compile(r"(?<![\w€])(?:\+31|0031|0)[\s-]?[1-9](?:[\s-]?\d){8}(?!\d)")),
    ("[TELEFOON]", re.compile(r"(?<![\w€])\+[1-9]\d{0,2}(?:[\s-]?\d){6,12}(?!\d)")),
    ("[ADRES]", re.compile(r"\b[A-Z][a-zà-ÿ]+(?:straat|laan|weg|plein|gracht|kade|singel|dijk|hof|park|dreef|steeg"
                           r"|pad|ring|markt)\s+\d{1,5}\s?[a-zA-Z]?\b")),
    ("[POSTCODE]", re.compile(r"\b[1-9]\d{3}\s?(?!SS|SA|SD)[A-Z]{2}\b(?:\s*,?\s*(?:nr\.?|huisnummer)?\s*\d{1,5}"
                              r"\s?[a-zA-Z]?\b)?")),
]
_OLD_NINE_DIGITS = re.compile(r"(?<![\d€,.])\d{9}(?![\d,.])|(?<![\d€,.])\d{4}\.\d{2}\.\d{3}(?![\d,.])")


def _old_is_bsn(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    if len(digits) != 9:
        return False
    total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]
    return total % 11 == 0 and total != 0


def old_redact(text: str) -> str:
    for token, pattern in _OLD_PATTERNS:
        text = pattern.sub(token, text)
    return _OLD_NINE_DIGITS.sub(lambda m: "[BSN]" if _old_is_bsn(m.group()) else m.group(), text)
# ---------------------------------------------------------------------------------------------------------------


def spans_from_output(text: str, redacted: str) -> Spans:
    """Recover which stretches of `text` a token-replacing redactor replaced, from its output alone."""
    pieces = _TOKEN.split(redacted)
    literals, kinds = pieces[0::2], pieces[1::2]
    if not kinds:
        return []
    pattern = re.escape(literals[0]) + "".join("(.+?)" + re.escape(lit) for lit in literals[1:])
    m = re.fullmatch(pattern, text, re.DOTALL)
    if m is None:
        raise ValueError(f"redacted text does not align with its input: {redacted!r}")
    return [(m.start(i + 1), m.end(i + 1), _TOKEN_TYPE[k]) for i, k in enumerate(kinds)]


def new_spans(text: str) -> Spans:
    from models.redaction import find_spans

    return [(s.start, s.end, _TOKEN_TYPE[s.kind]) for s in find_spans(text)]


def old_spans(text: str) -> Spans:
    return spans_from_output(text, old_redact(text))


_DEDUCE_TYPES = {"persoon": "PERSOON", "patient": "PERSOON", "telefoonnummer": "TELEFOON", "emailadres": "EMAIL",
                 "bsn": "BSN", "locatie": "ADRES", "iban": "IBAN", "postcode": "POSTCODE"}


def deduce_spans_fn() -> Callable[[str], Spans]:
    from deduce import Deduce  # optional: measured, not used by the service

    model = Deduce()

    def spans(text: str) -> Spans:
        doc = model.deidentify(text)
        return [(a.start_char, a.end_char, _DEDUCE_TYPES.get(a.tag.lower(), a.tag.upper())) for a in doc.annotations]
    return spans


def load(path: Path = DATA, split: str = "test") -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split == "all" or r["split"] == split]


def _covered(start: int, end: int, spans: Spans) -> bool:
    pos = start
    for s, e, _ in sorted(spans):
        if s <= pos < e:
            pos = e
        if pos >= end:
            return True
    return pos >= end


def score(rows: list[dict[str, Any]], find: Callable[[str], Spans]) -> dict[str, Any]:
    """Per type: recall of labelled spans, precision of redactions; tricky negatives left intact."""
    gold_n = dict.fromkeys(TYPES, 0)
    found = dict.fromkeys(TYPES, 0)
    pred_n: dict[str, int] = {}
    pred_ok: dict[str, int] = {}
    keep_n = keep_ok = 0
    misses: list[str] = []
    false_hits: list[str] = []
    for row in rows:
        text, gold = row["text"], row["spans"]
        pred = find(text)
        for g in gold:
            gold_n[g["type"]] += 1
            if _covered(g["start"], g["end"], pred):
                found[g["type"]] += 1
            else:
                misses.append(f"{g['type']}: {text[g['start']:g['end']]!r}")
        for s, e, kind in pred:
            pred_n[kind] = pred_n.get(kind, 0) + 1
            if any(s < g["end"] and g["start"] < e for g in gold):
                pred_ok[kind] = pred_ok.get(kind, 0) + 1
            else:
                false_hits.append(f"{kind}: {text[s:e]!r}")
        for k in row["keep"]:
            keep_n += 1
            keep_ok += not any(s < k["end"] and k["start"] < e for s, e, _ in pred)
    per_type = {t: {"gold": gold_n[t], "recall": found[t] / gold_n[t] if gold_n[t] else None,
                    "redactions": pred_n.get(t, 0),
                    "precision": pred_ok.get(t, 0) / pred_n[t] if pred_n.get(t) else None} for t in TYPES}
    total_pred = sum(pred_n.values())
    return {"types": per_type, "recall": sum(found.values()) / max(sum(gold_n.values()), 1),
            "precision": sum(pred_ok.values()) / total_pred if total_pred else None,
            "keep_intact": keep_ok / max(keep_n, 1), "keep_n": keep_n, "misses": misses, "false_hits": false_hits}


def latency_ms(redact_fn: Callable[[str], Any], texts: list[str], rounds: int = 5) -> dict[str, float]:
    times = []
    for _ in range(rounds):
        for t in texts:
            t0 = time.perf_counter()
            redact_fn(t)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"mean": statistics.fmean(times), "p50": times[len(times) // 2], "p99": times[int(len(times) * 0.99)],
            "chars": statistics.fmean(len(t) for t in texts)}


def posts_of_about(texts: list[str], chars: int = 300) -> list[str]:
    """Join consecutive posts into pieces of about `chars` characters (a typical forum post)."""
    out, cur = [], ""
    for t in texts:
        cur = f"{cur} {t}" if cur else t
        if len(cur) >= chars:
            out.append(cur[:chars + 40])
            cur = ""
    return out


_INIT_SNIPPET = """
import re, time
def hwm():  # this process's own peak RSS in MB (ru_maxrss would include the parent's, inherited at fork)
    return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
rss0 = hwm()
t0 = time.perf_counter()
{setup}
f('Bel Jan de Vries op 06-12345678.')
t1 = time.perf_counter()
print(t1 - t0, rss0, hwm())
"""
_SETUPS = {"old": "from eval.redaction import old_redact as f",
           "new": "from models.redaction import redact as f",
           "deduce": "from deduce import Deduce\nf = Deduce().deidentify"}


def init_cost(name: str) -> dict[str, float]:
    """Seconds to import and make the first call, and peak RSS (MB) before/after, in a fresh interpreter."""
    code = _INIT_SNIPPET.format(setup=_SETUPS[name])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout.split()
    seconds, rss0, rss1 = (float(x) for x in out[-3:])
    return {"init_s": seconds, "rss_mb": rss1, "rss_added_mb": rss1 - rss0}


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def table(results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    head = ["type", "n"] + [f"{n} recall" for n in names] + [f"{n} precision (redactions)" for n in names]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for t in TYPES:
        first = results[names[0]]["types"][t]
        cells = [t, str(first["gold"])] + [_fmt(results[n]["types"][t]["recall"]) for n in names]
        cells += [f"{_fmt(results[n]['types'][t]['precision'])} ({results[n]['types'][t]['redactions']})"
                  for n in names]
        lines.append("| " + " | ".join(cells) + " |")
    total = ["all", str(sum(results[names[0]]["types"][t]["gold"] for t in TYPES))]
    total += [_fmt(results[n]["recall"]) for n in names] + [_fmt(results[n]["precision"]) for n in names]
    lines.append("| " + " | ".join(total) + " |")
    keep = [f"{n} {results[n]['keep_intact']:.3f}" for n in names]
    lines.append(f"\ntricky non-personal strings left intact (of {results[names[0]]['keep_n']}): " + ", ".join(keep))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.redaction", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--split", choices=["test", "dev", "all"], default="test")
    parser.add_argument("--deduce", action="store_true", help="also measure deduce (slow to start, ~1 GB)")
    parser.add_argument("--rounds", type=int, default=5, help="latency: passes over the posts")
    parser.add_argument("--show-errors", action="store_true", help="list the new redactor's misses and false hits")
    parser.add_argument("--json", help="write all figures to this file")
    args = parser.parse_args(argv)

    from models.redaction import redact

    finders: dict[str, Callable[[str], Spans]] = {"old": old_spans, "new": new_spans}
    redactors: dict[str, Callable[[str], Any]] = {"old": old_redact, "new": redact}
    if args.deduce:
        finders["deduce"] = deduce_spans_fn()
        redactors["deduce"] = finders["deduce"]
    rows = load(args.data, args.split)
    results = {name: score(rows, find) for name, find in finders.items()}
    print(f"{args.data.name}, split {args.split}: {len(rows)} posts\n")
    print(table(results))

    all_texts = [r["text"] for r in load(args.data, "all")]
    long_posts = posts_of_about(all_texts, 300)
    huge = [(" ".join(all_texts) * 2)[:20000]]
    timing: dict[str, dict[str, Any]] = {}
    print("\n| redactor | init s (import + 1st call) | peak RSS MB (added) | ms/post p50 / p99 (dataset, "
          f"{statistics.fmean(map(len, all_texts)):.0f} chars) | ms/post p50 / p99 (~300 chars) | "
          "ms for 20,000 chars |\n| --- | --- | --- | --- | --- | --- |")
    for name, fn in redactors.items():
        cost = init_cost(name)
        short = latency_ms(fn, all_texts, args.rounds)
        typical = latency_ms(fn, long_posts, args.rounds)
        big = latency_ms(fn, huge, 1)
        timing[name] = {"init": cost, "dataset": short, "typical_300": typical, "body_20000": big}
        print(f"| {name} | {cost['init_s']:.2f} | {cost['rss_mb']:.0f} ({cost['rss_added_mb']:+.0f}) | "
              f"{short['p50']:.3f} / {short['p99']:.3f} | {typical['p50']:.3f} / {typical['p99']:.3f} | "
              f"{big['mean']:.1f} |")
    from models.redaction import DETECTORS

    per_detector = {d.__name__: latency_ms(d, long_posts, args.rounds)["mean"] for d in DETECTORS}
    timing["new_per_detector_ms_300"] = per_detector
    print("\nnew, mean ms per ~300-character post by detector: "
          + ", ".join(f"{name} {ms:.3f}" for name, ms in per_detector.items()))
    if args.show_errors:
        print("\nnew, missed:\n  " + "\n  ".join(results["new"]["misses"]))
        print("new, redacted with no labelled span:\n  " + "\n  ".join(results["new"]["false_hits"]))
    if args.json:
        Path(args.json).write_text(json.dumps({"split": args.split, "scores": results, "timing": timing},
                                              indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
