"""Write the Markdown reports (report.md + PNGs + results.json) for `posts` and `retrieval`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from eval import plots
from eval.tables import heads_table, latency_table, per_class_table, retrieval_table

REPORTS = Path(__file__).with_name("reports")


def default_report_dir(kind: str, model_dir: str | Path, data_file: str | Path) -> Path:
    """eval/reports/<kind>-<model>-<data folder>-<data file stem>, e.g. posts-default-test-posts."""
    model_dir, data_file = Path(model_dir).resolve(), Path(data_file).resolve()
    name = "-".join([kind, model_dir.name, data_file.parent.name, data_file.stem])
    return REPORTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _header(title: str, meta: dict[str, Any]) -> list[str]:
    lines = [f"# {title}", ""]
    lines += [f"- {k}: `{v}`" for k, v in meta.items()]
    lines += [f"- written: {datetime.now(UTC).isoformat(timespec='seconds')}", ""]
    return lines


def write_posts_report(out: Path, result: dict[str, Any], latency: dict[str, Any],
                       meta: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    lines = _header("Triage heads on labelled posts", {**meta, "posts": result["n"]})
    lines += ["## Summary", "", heads_table(result), "",
              "ECE: expected calibration error of the calibrated probabilities (temperature per head "
              "from the manifest), 15 equal-width confidence bins.", "",
              "## Latency per post", "", latency_table(latency), "",
              f"Measured on {latency.get('posts', 0)} posts on this machine; figures, not guarantees.", ""]
    for head, m in result["heads"].items():
        cm = plots.confusion_png(np.array(m["confusion"]), m["labels"], f"{head}: confusion",
                                 out / f"confusion_{head}.png")
        rel = plots.reliability_png(m["reliability"], m["ece"], head, out / f"reliability_{head}.png")
        lines += [f"## {head}", "",
                  f"accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}, ECE {m['ece']:.3f}", "",
                  per_class_table(m), "",
                  f"![confusion matrix]({cm.name}) ![reliability diagram]({rel.name})", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    _write_json(out / "results.json", {**result, "latency": latency, "meta": meta})
    return path


def write_retrieval_report(out: Path, result: dict[str, Any], meta: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    top, has = np.array(result["top_scores"]), np.array(result["has_relevant"], dtype=bool)
    hist = plots.top_score_png(top, has, result["threshold"], out / "top_scores.png")
    lines = _header("Answer suggestions (retrieval)", meta)
    lines += ["## Summary", "", retrieval_table(result), "",
              f"- queries: {result['n']} ({result['answerable']} with a relevant answer); "
              f"knowledge base: {result['kb_size']} answers",
              "- recall@k, MRR@10 and nDCG@10 count only queries with a relevant answer.",
              f"- abstaining (suggesting nothing) is the positive class; threshold {result['threshold']:.4f} "
              "from the model manifest (chosen on dev at training time).", "",
              f"![best score per query]({hist.name})", ""]
    if result.get("dense_only"):
        d = result["dense_only"]
        lines[-3:-3] = [f"- ranking: dense cosine + {result['lexical_weight']} x BM25 (the served ranking); "
                        f"dense cosine alone: recall@1 {d['recall@1']:.4f}, MRR@10 {d['mrr@10']:.4f}."]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    _write_json(out / "results.json", {**result, "meta": meta})
    return path


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False), encoding="utf-8")
