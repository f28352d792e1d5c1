"""Inter-annotator agreement: how well a second, independent annotation of the same posts agrees
with the corpus labels (Cohen's kappa, raw agreement, and the macro-F1 the second annotator
would "score" against the first). That is the human ceiling the model's targets are read against.

`python -m eval agreement --second eval/data/second_annotation.jsonl [--data training/data]`
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sklearn.metrics import cohen_kappa_score, f1_score

from eval.inputs import EvalInputError


def load_second(path: str | Path, heads: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalInputError(f"{path}:{n}: not JSON: {exc.msg}") from exc
        for head, labels in heads.items():
            if row.get(head) not in labels:
                raise EvalInputError(f"{path}:{n}: {head} {row.get(head)!r} is not one of {', '.join(labels)}")
        if row.get("id") in out:
            raise EvalInputError(f"{path}:{n}: duplicate id {row.get('id')!r}")
        out[str(row["id"])] = {h: row[h] for h in heads}
    return out


def agreement(first: dict[str, dict[str, Any]], second: dict[str, dict[str, str]],
              heads: dict[str, list[str]]) -> dict[str, Any]:
    ids = [i for i in second if i in first]
    missing = [i for i in second if i not in first]
    if missing:
        raise EvalInputError(f"{len(missing)} second-annotation ids are not in the corpus (e.g. {missing[0]})")
    out: dict[str, Any] = {"n": len(ids), "heads": {}}
    for head, labels in heads.items():
        a = [first[i][head] for i in ids]
        b = [second[i][head] for i in ids]
        out["heads"][head] = {
            "kappa": float(cohen_kappa_score(a, b, labels=labels)),
            "agreement": sum(x == y for x, y in zip(a, b, strict=True)) / max(len(ids), 1),
            "second_vs_first_macro_f1": float(f1_score(a, b, labels=labels, average="macro", zero_division=0)),
        }
    return out


def render(result: dict[str, Any]) -> str:
    lines = [f"{result['n']} posts annotated twice", "",
             "| head | Cohen's kappa | raw agreement | macro-F1 of annotator 2 vs 1 |", "| --- | --- | --- | --- |"]
    lines += [f"| {h} | {r['kappa']:.3f} | {r['agreement']:.3f} | {r['second_vs_first_macro_f1']:.3f} |"
              for h, r in result["heads"].items()]
    return "\n".join(lines)
