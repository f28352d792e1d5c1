"""`python -m eval {posts,retrieval,baselines,external,xsid,incidents,incidents-tune}`.

A bad input file prints its `file:line: reason` problems and exits 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from eval.inputs import EvalInputError
from models.artifact import ArtifactError
from models.schema import DataValidationError


def _write_json(path: str | None, obj: Any) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _load_model(directory: str, threads: int):  # noqa: ANN202 - TriageModel
    from models.inference import TriageModel

    return TriageModel(directory, intra_threads=threads)


def cmd_posts(args: argparse.Namespace) -> int:
    from eval import posts, report
    from eval.inputs import load_labelled_posts
    from eval.latency import measure_latency
    from eval.tables import heads_table, latency_table
    from models.data_io import post_text

    model = _load_model(args.model, args.threads)
    rows, labels = load_labelled_posts(args.file, model.manifest.label_sets)
    result = posts.evaluate_posts(model, rows, labels)
    texts = [post_text(r) for r in rows]
    latency = measure_latency(model, texts, args.latency_posts) if args.latency_posts else {}
    print(f"{args.file}: {result['n']} posts, heads {', '.join(labels.heads)}\n")
    print(heads_table(result) + "\n\nLatency per post (figures, this machine):\n" + latency_table(latency))
    out = Path(args.report) if args.report else report.default_report_dir("posts", args.model, args.file)
    meta = {"model": args.model, "data": args.file, "threads": args.threads}
    print(f"\nreport: {report.write_posts_report(out, result, latency, meta)}")
    _write_json(args.json, posts.summary(result))
    return 0


def cmd_retrieval(args: argparse.Namespace) -> int:
    from eval import report, retrieval
    from eval.inputs import load_kb_and_queries
    from eval.tables import retrieval_table

    model = _load_model(args.model, args.threads)
    kb, queries = load_kb_and_queries(args.kb, args.queries)
    result = retrieval.evaluate_retrieval(model, kb, queries)
    print(f"{args.queries}: {result['n']} queries ({result['answerable']} answerable) "
          f"against {len(kb)} answers, "
          f"nothing fits below {result['abstain_by']} {result['threshold']:.4f} (from the model)\n")
    print(retrieval_table(result))
    out = Path(args.report or report.default_report_dir("retrieval", args.model, args.queries))
    meta = {"model": args.model, "kb": args.kb, "queries": args.queries}
    print(f"\nreport: {report.write_retrieval_report(out, result, meta)}")
    _write_json(args.json, retrieval.summary(result))
    return 0


def cmd_baselines(args: argparse.Namespace) -> int:
    from eval.baselines import render_baselines, run_baselines

    result = run_baselines(args.data, args.base, args.max_length)
    print(render_baselines(result))
    _write_json(args.json, result)
    return 0


def cmd_external(args: argparse.Namespace) -> int:
    from eval.external import default_external_dir, render_external, run_external

    ext = Path(args.external_dir) if args.external_dir else default_external_dir()
    if not ext.is_dir():
        print(f"error: {ext}: no external-eval folder (pass --external-dir)", file=sys.stderr)
        return 1
    model = _load_model(args.model, args.threads)
    base = None if args.no_base else args.base
    result = run_external(model, ext, base, args.limit, args.base_max_length)
    print(render_external(result))
    _write_json(args.json, result)
    return 0


def cmd_xsid(args: argparse.Namespace) -> int:
    from eval.external import default_external_dir
    from eval.xsid import run_xsid
    from training.config import TrainConfig

    ext = Path(args.external_dir) if args.external_dir else default_external_dir()
    try:
        cfg = TrainConfig.load(args.config, args.set, base=args.base)
    except (ValueError, TypeError) as exc:
        raise EvalInputError(str(exc)) from exc
    result = run_xsid(ext, Path(args.out), cfg)
    print(f"xSID-nl intents, trained on valid ({result['train_posts']} train / {result['dev_posts']} dev), "
          f"scored on test (n={result['n']}, {result['left_out_unseen_intent']} with an intent "
          f"unseen in valid "
          f"left out): accuracy {result['accuracy']:.3f}, macro-F1 {result['macro_f1']:.3f}")
    _write_json(args.json, result)
    return 0


def _incident_inputs(args: argparse.Namespace):  # noqa: ANN202 - (rows, embeddings)
    from eval.incidents import embed_stream, load_stream

    rows = load_stream(args.file)
    if args.base:  # the frozen base encoder (torch, fp32): the retrieval tower's weights without a trained model
        from eval.incidents import post_text
        from models.encoder import Encoder

        return rows, Encoder(args.base, max_length=128).embed([post_text(r) for r in rows])
    return rows, embed_stream(_load_model(args.model, args.threads), rows)


def cmd_incidents(args: argparse.Namespace) -> int:
    from eval.incidents import evaluate, render
    from service.incident_detector import IncidentParams
    from service.settings import Settings

    d = {k: f.default for k, f in Settings.model_fields.items()}
    params = IncidentParams(
        similarity=d["incident_similarity"] if args.similarity is None else args.similarity,
        join_similarity=d["incident_join_similarity"] if args.join_similarity is None else args.join_similarity,
        min_authors=d["incident_min_authors"] if args.min_authors is None else args.min_authors,
        window_s=60 * (d["incident_window_minutes"] if args.window_minutes is None else args.window_minutes),
        quiet_s=60 * (d["incident_quiet_minutes"] if args.quiet_minutes is None else args.quiet_minutes))
    rows, emb = _incident_inputs(args)
    result = evaluate(rows, emb, params)
    print(f"{args.file}: {len(rows)} posts, thresholds {result['params']}\n")
    print(render(result))
    _write_json(args.json, result)
    return 0


def cmd_incidents_tune(args: argparse.Namespace) -> int:
    from eval.incidents import render, render_tuning, tune

    rows, emb = _incident_inputs(args)
    results = tune(rows, emb)
    print(f"{args.file}: {len(rows)} posts, {len(results)} threshold settings; best first\n")
    print(render_tuning(results) + "\n\nchosen: " + json.dumps(results[0]["params"]) + "\n")
    print(render(results[0]))
    _write_json(args.json, {"chosen": results[0], "top": results[:20]})
    return 0


def _thread_inputs(args: argparse.Namespace):  # noqa: ANN202 - (model, threads, queries)
    from models.data_io import load_queries
    from models.threads import load_threads

    model = _load_model(args.model, args.ort_threads)
    threads = load_threads(args.threads_file)
    known = {f"thread:{t['thread_id']}" for t in threads}
    return model, threads, load_queries(args.queries, known)


def cmd_experts(args: argparse.Namespace) -> int:
    from eval.experts import evaluate, render

    model, threads, queries = _thread_inputs(args)
    result = evaluate(model, threads, queries)
    print(f"{args.threads_file}: {len(threads)} threads imported; {args.queries}: {len(queries)} queries\n")
    print(render(result))
    _write_json(args.json, result)
    return 0


def cmd_experts_tune(args: argparse.Namespace) -> int:
    from eval.experts import tune_weights

    model, threads, queries = _thread_inputs(args)
    result = tune_weights(model, threads, queries)
    print(f"{args.queries}: {len(queries)} tuning queries; best settings (objective, hit@1, hit@3, empty):")
    for row in result["best"]:
        print(json.dumps(row))
    print(f"{result['tied_best']} of {result['settings']} settings tie at the best objective; centre of that "
          f"region: {json.dumps(result['centre_of_best'])} -> {result['centre_result']}")
    _write_json(args.json, result)
    return 0


def cmd_triage(args: argparse.Namespace) -> int:
    from eval import served
    from eval.inputs import load_labelled_posts

    with served.served_engine(args.model, args.kb, args.policy) as engine:
        rows, _ = load_labelled_posts(args.file, engine.model.manifest.label_sets)
        missing = [r["id"] for r in rows if "route" not in r]
        if missing:
            raise EvalInputError(f"{args.file}: {len(missing)} posts have no route label (e.g. {missing[0]})")
        result = served.evaluate_served(engine.policy, served.post_facts(engine, rows), rows)
    policy = args.policy or "the model's tuned policy or the default"
    print(f"{args.file}: served route (heads + answerability + policy: {policy}) vs the route head alone\n")
    print(served.render(result))
    _write_json(args.json, served.summary(result))
    return 0


def cmd_tune_policy(args: argparse.Namespace) -> int:
    from eval import policy_tuning, served
    from eval.inputs import load_data_dir
    from service.policy import Policy
    from service.settings import DEFAULT_POLICY

    corpus = load_data_dir(args.data)
    dev = corpus.posts.splits["dev"]
    base_path = Path(args.policy) if args.policy else DEFAULT_POLICY
    out = Path(args.out) if args.out else Path(args.model) / "policy.yaml"
    with served.served_engine(args.model, Path(args.data) / "kb.jsonl", base_path) as engine:
        label_sets = engine.model.manifest.label_sets
        base = Policy.from_file(base_path, label_sets).spec
        facts = served.post_facts(engine, dev)
        version = engine.version
    tuned = policy_tuning.tune(base, facts, dev, label_sets)
    policy_tuning.write_policy(base, tuned, out, {"base": str(base_path), "model_version": version,
                                                  "dev": f"{args.data} dev split, {len(dev)} posts"})
    print(f"{tuned['points']} grid points, {tuned['feasible_points']} meet the safety constraints; chosen: "
          f"{tuned['chosen'].as_dict()}\n\nbefore (base policy) on dev:\n{served.render(tuned['before'])}\n\n"
          f"after (tuned) on dev:\n{served.render(tuned['after'])}\n\n"
          f"tuned on 4/5 of dev, served on the other 1/5 (5 folds, pooled): {tuned['cross_validated']}\n\n"
          f"wrote {out}")
    if not tuned["feasible"]:
        print("warning: no grid point meets critical->webcare = 1 and webcare recall >= 0.95 on dev; "
              "the safest point was chosen", file=sys.stderr)
    return 0


def cmd_agreement(args: argparse.Namespace) -> int:
    from eval import agreement
    from eval.inputs import load_data_dir

    corpus = load_data_dir(args.data)
    heads = corpus.labels.heads
    first = {r["id"]: r for rows in corpus.posts.splits.values() for r in rows}
    result = agreement.agreement(first, agreement.load_second(args.second, heads), heads)
    print(agreement.render(result))
    _write_json(args.json, result)
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    """Write evaluation results (JSON files from the other commands) into the model's
    manifest metrics and regenerate its model card."""
    from models.artifact import load_manifest, write_manifest

    manifest = load_manifest(args.model)
    for item in args.result:
        name, sep, path = item.partition("=")
        if not sep:
            raise EvalInputError(f"--result {item!r} must look like name=path.json")
        manifest.metrics[name] = json.loads(Path(path).read_text(encoding="utf-8"))
    for item in args.note:
        key, _, text = item.partition("=")
        manifest.details[key] = text
    write_manifest(Path(args.model), manifest, list(manifest.files))
    print(f"recorded {', '.join(r.partition('=')[0] for r in args.result)} in {args.model}/manifest.json")
    return 0


def _common(p: argparse.ArgumentParser, model: bool = True) -> None:
    if model:
        p.add_argument("--model", required=True, help="triage model directory (manifest.json, model.onnx)")
        p.add_argument("--threads", type=int, default=2,
                       help="onnxruntime intra-op threads (default 2, as the service)")
    p.add_argument("--json", help="write the results as JSON to this file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("posts", help="head metrics, calibration and latency on labelled posts")
    p.add_argument("file", help="labelled posts: JSONL, CSV, Parquet or a datasets directory")
    p.add_argument("--report", help="report directory (default eval/reports/<name>/)")
    p.add_argument("--latency-posts", type=int, default=200, help="posts timed for latency (0: skip)")
    _common(p)
    p.set_defaults(func=cmd_posts)
    r = sub.add_parser("retrieval", help="answer-suggestion metrics against a knowledge base")
    r.add_argument("--kb", required=True, help="knowledge-base answers file")
    r.add_argument("--queries", required=True, help="retrieval queries file")
    r.add_argument("--report", help="report directory (default eval/reports/<name>/)")
    _common(r)
    r.set_defaults(func=cmd_retrieval)
    b = sub.add_parser("baselines", help="TF-IDF, BM25 and frozen-encoder baselines on the fixed splits")
    b.add_argument("--data", default="training/data",
                   help="data directory (posts.jsonl, kb.jsonl, queries.jsonl)")
    b.add_argument("--base", default="models/base", help="frozen base encoder")
    b.add_argument("--max-length", type=int, default=256, help="tokens per text for the frozen encoder")
    _common(b, model=False)
    b.set_defaults(func=cmd_baselines)
    e = sub.add_parser("external", help="checks on third-party Dutch data (../shared/external-eval)")
    e.add_argument("--base", default="models/base", help="frozen base encoder to compare with")
    e.add_argument("--no-base", action="store_true", help="skip the frozen base encoder")
    e.add_argument("--base-max-length", type=int, nargs="+", default=None,
                   help="token limits to run the frozen base at (default: 512 and the model's max_length)")
    e.add_argument("--external-dir", help="override the external-eval folder")
    e.add_argument("--limit", type=int, default=0, help="use only the first N items of each set (0: all)")
    _common(e)
    e.set_defaults(func=cmd_external)
    x = sub.add_parser("xsid", help="train on xSID-nl valid intents (foreign label set), score on test")
    x.add_argument("--base", default="models/base")
    x.add_argument("--out", required=True, help="model directory to write")
    x.add_argument("--external-dir", help="override the external-eval folder")
    x.add_argument("--config", help="training config YAML")
    x.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    _common(x, model=False)
    x.set_defaults(func=cmd_xsid)
    i = sub.add_parser("incidents", help="replay a labelled stream through incident detection, score per burst")
    i.add_argument("file", help="stream JSONL: post_id, created_at, author_id, title, body, burst")
    i.add_argument("--similarity", type=float, help="override the settings' incident_similarity")
    i.add_argument("--join-similarity", type=float, help="override incident_join_similarity")
    i.add_argument("--min-authors", type=int, help="override incident_min_authors")
    i.add_argument("--window-minutes", type=float, help="override incident_window_minutes")
    i.add_argument("--quiet-minutes", type=float, help="override incident_quiet_minutes")
    i.set_defaults(func=cmd_incidents)
    t = sub.add_parser("incidents-tune", help="grid-search incident thresholds on a labelled (tuning) stream")
    t.add_argument("file", help="stream JSONL (use the tuning stream, never the evaluation stream)")
    t.set_defaults(func=cmd_incidents_tune)
    for q in (i, t):
        src = q.add_mutually_exclusive_group(required=True)
        src.add_argument("--model", help="triage model directory: its served retrieval embedding")
        src.add_argument("--base", help="or a frozen base encoder directory (e.g. models/base) embedded in torch fp32")
        q.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (default 2)")
        q.add_argument("--json", help="write the results as JSON to this file")
    for name, helptext in (("experts", "import a thread export, score retrieval of its answers and expert "
                                        "matching (hit@1, hit@3)"),
                           ("experts-tune", "grid-search the matching weights on tuning queries")):
        ex = sub.add_parser(name, help=helptext)
        ex.add_argument("--threads", dest="threads_file", required=True, help="thread export (labels.md v2)")
        ex.add_argument("--queries", required=True, help="queries with relevant thread:<id> and expert")
        ex.add_argument("--model", required=True, help="triage model directory (manifest.json, model.onnx)")
        ex.add_argument("--ort-threads", type=int, default=2, help="onnxruntime intra-op threads (default 2)")
        ex.add_argument("--json", help="write the results as JSON to this file")
        ex.set_defaults(func=cmd_experts if name == "experts" else cmd_experts_tune)
    tr = sub.add_parser("triage", help="the served route (heads + answerability + policy) on labelled posts, "
                                       "next to the route head alone; per-rule precision; safety figures")
    tr.add_argument("file", help="labelled posts (with route; urgency for the critical figure)")
    tr.add_argument("--kb", default="training/data/kb.jsonl", help="knowledge base the suggestions come from")
    tr.add_argument("--policy", help="policy file (default: the model's tuned policy.yaml, else the service default)")
    _common(tr)
    tr.set_defaults(func=cmd_triage)
    tp = sub.add_parser("tune-policy", help="choose the policy's thresholds on the dev split; write the policy "
                                            "file with its dev figures")
    tp.add_argument("--data", default="training/data", help="data directory (its dev split and kb.jsonl)")
    tp.add_argument("--model", required=True)
    tp.add_argument("--policy", help="base policy (default: service/default_policy.yaml)")
    tp.add_argument("--out", help="tuned policy to write (default: <model>/policy.yaml)")
    tp.set_defaults(func=cmd_tune_policy)
    ag = sub.add_parser("agreement", help="Cohen's kappa per head between the corpus labels and a second, "
                                          "independent annotation of some of its posts")
    ag.add_argument("--second", default="eval/data/second_annotation.jsonl",
                    help="JSONL: id plus one label per head")
    ag.add_argument("--data", default="training/data")
    ag.add_argument("--json")
    ag.set_defaults(func=cmd_agreement)
    c = sub.add_parser("record", help="store evaluation JSON results in a model's manifest and model card")
    c.add_argument("--model", required=True)
    c.add_argument("--result", action="append", default=[], metavar="NAME=FILE.json")
    c.add_argument("--note", action="append", default=[], metavar="KEY=TEXT", help="a line for the model card")
    c.set_defaults(func=cmd_record)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DataValidationError as exc:
        exc.report("; nothing evaluated:")
        return 1
    except (FileNotFoundError, ArtifactError, EvalInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
