"""Markdown tables for the console and the reports."""

from __future__ import annotations

from typing import Any


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def heads_table(result: dict[str, Any]) -> str:
    rows = [[h, m["accuracy"], m["macro_f1"], m["ece"], _interval(m.get("ece_interval")), _maybe(m.get("ece_floor"))]
            for h, m in result["heads"].items()]
    return markdown_table(["head", "accuracy", "macro-F1", "ECE (15 bins)", "ECE 95% interval",
                           "ECE if perfectly calibrated (noise floor)"], rows)


def _interval(iv: list[float] | None) -> str:
    return f"{iv[0]:.3f}–{iv[1]:.3f}" if iv else "–"


def _maybe(v: float | None) -> str:
    return f"{v:.3f}" if v is not None else "–"


def per_class_table(metrics: dict[str, Any]) -> str:
    rows = [[label, c["precision"], c["recall"], c["f1"], c["support"]]
            for label, c in metrics["per_class"].items()]
    return markdown_table(["label", "precision", "recall", "F1", "support"], rows)


def latency_table(latency: dict[str, Any]) -> str:
    if not latency:
        return "(no latency measured)"
    rows = [["one post per call (mean)", latency["single_mean_ms"]],
            ["one post per call (p50)", latency["single_p50_ms"]],
            ["one post per call (p95)", latency["single_p95_ms"]],
            [f"batches of {latency['batch_size']} (per post)", latency["batched_ms_per_post"]]]
    return markdown_table(["mode", "ms per post"], [[m, f"{v:.2f}"] for m, v in rows])


def retrieval_table(result: dict[str, Any]) -> str:
    keys = ["recall@1", "recall@3", "mrr@10", "ndcg@10", "abstain_precision", "abstain_recall", "abstain_f1"]
    return markdown_table(["n", *keys], [[result["n"], *(float(result[k]) for k in keys)]])
