"""Generate a model card (README.md) from a manifest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.artifact import Manifest

TITLES = {"base-encoder": "Wegwijzer base encoder", "triage-model": "Wegwijzer triage model"}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _metrics_table(metrics: dict[str, Any]) -> list[str]:
    rows = []
    for key, value in sorted(metrics.items()):
        if isinstance(value, dict):
            for sub, v in sorted(value.items()):
                if not isinstance(v, dict | list):
                    rows.append(f"| {key} | {sub} | {_fmt(v)} |")
        elif not isinstance(value, list):
            rows.append(f"| {key} | | {_fmt(value)} |")
    if not rows:
        return ["No metrics recorded."]
    return ["| group | metric | value |", "| --- | --- | --- |", *rows]


_ANSWERABILITY_SETS = {"all": "cosine, BM25, margins and product/topic agreement",
                       "retrieval": "cosine, BM25 and margins", "cosine": "the dense cosine alone"}


def _retrieval_lines(m: Manifest) -> list[str]:
    r = m.retrieval
    decision = m.metrics.get("retrieval_decision", {})
    lines = [f"- Encoder layout: `{r.get('encoder', 'shared')}`"
             + (f" ({decision['why']})" if decision.get("why") else "")]
    lines.append(f"- Ranking: dense cosine + {_fmt(float(r.get('lexical_weight', 0.0)))} x BM25 over the "
                 f"{r.get('lexical_candidates', 100)} best dense hits")
    dev = m.metrics.get("answerability_dev")
    if "answerability.json" in m.files and isinstance(dev, dict):
        over = _ANSWERABILITY_SETS.get(str(dev.get("feature_set", "all")), "its features")
        lines.append("- Nothing fits: no candidate's answerability (\"does this answer solve this post?\", a "
                     f"logistic model over {over}, fitted on the train queries, feature set and threshold "
                     f"chosen on dev and out-of-fold train) reaches the threshold; dev abstain F1 "
                     f"{_fmt(dev.get('abstain_f1', 0.0))}, recall@1 {_fmt(dev.get('recall@1', 0.0))}")
    else:
        lines.append(f"- Nothing fits below a dense cosine of {_fmt(float(r.get('threshold', 0.0)))} (chosen on dev)")
    lines.append(f"- Prefixes: `{r.get('query_prefix', '')}` for posts, `{r.get('passage_prefix', '')}` for answers")
    return lines


def _served_lines(served: dict[str, Any], agreement: dict[str, Any] | None) -> list[str]:
    """The served decision (route after the policy) next to the route head, from `eval triage`."""
    r = served.get("route", {})
    head = r.get("head", {})
    rows = [("macro-F1", r.get("served_macro_f1"), r.get("head_macro_f1")),
            ("critical -> webcare", r.get("critical_to_webcare"), head.get("critical_to_webcare")),
            ("webcare recall", r.get("webcare_recall"), head.get("webcare_recall")),
            ("peers -> webcare", r.get("peers_to_webcare"), head.get("peers_to_webcare")),
            ("mean cost", r.get("cost"), head.get("cost"))]
    lines = [f"{served.get('n', 0)} test posts through the served pipeline (heads, answerability, tuned policy).", "",
             "| route | served | route head alone |", "| --- | --- | --- |"]
    lines += [f"| {name} | {_fmt(a) if a is not None else '-'} | {_fmt(b) if b is not None else '-'} |"
              for name, a, b in rows]
    rules = served.get("rules", {})
    if rules:
        lines += ["", "| rule | fired | decided | precision |", "| --- | --- | --- | --- |"]
        lines += [f"| {n} | {v.get('fired')} | {v.get('decided')} | "
                  f"{'-' if v.get('precision') is None else _fmt(v['precision'])} |" for n, v in rules.items()]
    if agreement and agreement.get("heads"):
        lines += ["", f"Human ceiling: a second, independent annotation of {agreement.get('n')} dev/test posts.", "",
                  "| head | Cohen's kappa | macro-F1 of annotator 2 vs 1 |", "| --- | --- | --- |"]
        lines += [f"| {h} | {_fmt(v['kappa'])} | {_fmt(v['second_vs_first_macro_f1'])} |"
                  for h, v in agreement["heads"].items()]
    return lines


def _runtime_lines(m: Manifest) -> list[str]:
    """The export parity gate (dev split, against torch fp32) for each runtime's graph."""
    rows = ["| graph | runtime, precision | posts | lowest head agreement | embedding cosine min | passes |",
            "| --- | --- | ---: | ---: | ---: | --- |"]
    onnx = m.metrics.get("onnx_export")
    if isinstance(onnx, dict) and isinstance(onnx.get("dev_parity"), dict):
        par = onnx["dev_parity"]
        agree = par.get("argmax_agreement") or {"-": float("nan")}
        rows.append(f"| model.onnx | onnxruntime, {onnx.get('chosen')} | {m.details.get('dev_posts', '-')} | "
                    f"{_fmt(min(agree.values()))} | "
                    f"{_fmt(par.get('embedding_cosine_min'))} | yes |")
    for precision, par in (m.metrics.get("openvino_export") or {}).items():
        agree = par.get("argmax_agreement") or {"-": float("nan")}
        rows.append(f"| openvino/model.xml | OpenVINO, {precision} | {par.get('n')} | {_fmt(min(agree.values()))} | "
                    f"{_fmt(par.get('embedding_cosine_min'))} | {'yes' if par.get('passes') else 'no'} |")
    return rows if len(rows) > 2 else []


def render_model_card(m: Manifest) -> str:
    lines = [f"# {TITLES[m.kind]}", "", f"- Base model: `{m.base_model}`"]
    if m.source:
        lines.append(f"- Converted from: `{m.source.name}` (sha256 `{m.source.sha256}`)")
    if m.training_data_sha256:
        lines.append(f"- Training data sha256: `{m.training_data_sha256}`")
    lines.append(f"- Created: {m.created_at}")
    lines += ["", "## Label sets", ""]
    if m.label_sets:
        lines += [f"- **{head}**: {', '.join(labels)}" for head, labels in m.label_sets.items()]
    else:
        lines.append("None (encoder only).")
    if m.calibration or m.thresholds:
        lines += ["", "## Calibration", "", "| head | temperature | abstain below |", "| --- | --- | --- |"]
        lines += [f"| {h} | {_fmt(m.calibration.get(h, 1.0))} | {_fmt(m.thresholds.get(h, 0.0))} |"
                  for h in m.label_sets]
    if m.retrieval:
        lines += ["", "## Retrieval", "", *_retrieval_lines(m)]
    runtime = _runtime_lines(m)
    if runtime:
        lines += ["", "## Runtimes (export parity gate on dev, against torch fp32)", "",
                  "The service picks OpenVINO where the model has its IR and it passes a start-up check "
                  "on the CPU it runs on (bf16 with AMX or AVX512-BF16, else f32), else onnxruntime.", "",
                  *runtime]
    if isinstance(m.metrics.get("test_served"), dict):
        lines += ["", "## Served decision (test split)", "",
                  *_served_lines(m.metrics["test_served"], m.metrics.get("annotator_agreement"))]
    lines += ["", "## Metrics", "", *_metrics_table(m.metrics)]
    if m.details:
        lines += ["", "## Details", ""]
        lines += [f"- {k}: {_fmt(v)}" for k, v in sorted(m.details.items()) if not isinstance(v, dict | list)]
    lines += ["", "## Library versions", ""]
    lines += [f"- {lib} {ver}" for lib, ver in sorted(m.library_versions.items())]
    lines += ["", "## Files", ""]
    lines += [f"- `{name}` sha256 `{digest}`" for name, digest in sorted(m.files.items())]
    return "\n".join(lines) + "\n"
