"""Runtime selection (OpenVINO or onnxruntime), its fallbacks, and the parity gate of each
runtime, on the tiny model (trained through the real pipeline, which exports both graphs)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from models.artifact import ArtifactError, load_manifest, write_manifest
from models.inference import TriageModel
from models.runtime import CpuFeatures, Probe, RuntimeError_, compare, cpu_features, passes, select_runtime
from models.runtime.cpu import parse_cpuinfo
from models.runtime.onnxruntime_runtime import OnnxRuntime
from models.runtime.openvino_runtime import OpenVinoRuntime
from models.runtime.probe import EXPORT_GATE, IR_XML, PROBE_FILE, START_GATE
from models.runtime.select import START_BATCH

NO_BF16 = CpuFeatures("test CPU without bf16", ("avx2", "avx512f"))
AMX = CpuFeatures("test CPU with AMX", ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"))
TEXTS = ["Mijn iPhone heeft geen bereik sinds gisteren", "Factuur is te hoog, wie kan helpen?",
         "Storing internet Utrecht", "Hoe zet ik roaming aan in Turkije? " * 6]


def heads_of(model_dir: Path) -> list[str]:
    return list(json.loads((model_dir / "manifest.json").read_text())["label_sets"])


def test_the_export_writes_both_graphs_and_a_probe_that_passed_the_gate(tiny_model: Path) -> None:
    manifest = json.loads((tiny_model / "manifest.json").read_text())
    for f in ("model.onnx", IR_XML, "openvino/model.bin", PROBE_FILE):
        assert f in manifest["files"], f
    report = manifest["metrics"]["openvino_export"]
    assert report["f32"]["passes"] and report["f32"]["n"] > 0
    if cpu_features().bf16:
        assert "bf16" in report


def test_parse_cpuinfo_reads_the_flags_that_decide_precision() -> None:
    cpu = parse_cpuinfo("processor\t: 0\nmodel name\t: Some Xeon\nflags\t\t: fpu avx2 avx512f amx_bf16 amx_tile\n"
                        "processor\t: 1\nflags\t\t: fpu\n")
    assert cpu.model == "Some Xeon" and cpu.bf16 and "avx512_vnni" not in cpu.flags
    assert not parse_cpuinfo("flags : fpu avx2\n").bf16


@pytest.mark.parametrize("cpu, precision", [(AMX, "bf16"), (NO_BF16, "f32")])
def test_auto_picks_openvino_at_the_precision_the_cpu_supports(tiny_model: Path, cpu: CpuFeatures,
                                                               precision: str) -> None:
    if precision == "bf16" and not cpu_features().bf16:
        pytest.skip("this CPU cannot run bf16; the choice is still tested with f32")
    sel = select_runtime(tiny_model, heads_of(tiny_model), "auto", cpu=cpu)
    assert (sel.runtime.name, sel.runtime.precision) == ("openvino", precision)
    assert sel.tried[-1]["ok"] and passes(sel.tried[-1]["probe"], START_GATE)
    assert sel.describe()["cpu"]["flags"] == list(cpu.flags)


def test_auto_falls_back_to_onnxruntime_when_openvino_is_not_installed(tiny_model: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` now raises ImportError
    model = TriageModel(tiny_model)
    assert model.runtime.name == "onnxruntime"
    first = model.selection.tried[0]
    assert first["name"] == "openvino" and not first["ok"] and "not installed" in first["reason"]
    preds, emb = model.predict(TEXTS)
    assert len(preds) == len(TEXTS) and emb.shape == (len(TEXTS), model.dim)
    with pytest.raises(ArtifactError, match="openvino is not installed"):
        TriageModel(tiny_model, runtime="openvino")  # asked for by name: no silent fallback


def test_a_model_without_its_ir_runs_on_onnxruntime(tiny_model: Path, tmp_path: Path) -> None:
    old = tmp_path / "model"
    shutil.copytree(tiny_model, old)
    manifest = load_manifest(old, verify_files=False)  # an artifact from before the IR existed
    shutil.rmtree(old / "openvino")
    write_manifest(old, manifest, [f for f in manifest.files if not f.startswith("openvino/")])
    model = TriageModel(old)
    assert model.runtime.name == "onnxruntime"
    assert "does not exist" in model.selection.tried[0]["reason"]


def test_a_runtime_that_drifts_from_the_probe_is_refused(tiny_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "model"
    shutil.copytree(tiny_model, bad)
    probe = Probe.load(bad / PROBE_FILE)
    probe.logits = {h: -v for h, v in probe.logits.items()}  # references no runtime can agree with
    probe.embedding = -probe.embedding
    probe.save(bad / PROBE_FILE)
    with pytest.raises(RuntimeError_, match="no runtime could run the model"):
        select_runtime(bad, heads_of(bad), "auto")
    # the manifest hashes the probe, so a tampered probe file is caught before that
    with pytest.raises(ArtifactError, match=PROBE_FILE):
        TriageModel(bad)


def test_a_precision_that_failed_the_export_gate_is_not_tried(tiny_model: Path) -> None:
    sel = select_runtime(tiny_model, heads_of(tiny_model), "auto", cpu=NO_BF16,
                         export_parity={"f32": {"passes": False}})
    assert sel.runtime.name == "onnxruntime"
    assert sel.tried[0]["reason"] == "failed the export parity gate on dev"


def test_unknown_runtime_is_a_clear_error(tiny_model: Path) -> None:
    with pytest.raises(RuntimeError_, match="runtime must be one of"):
        select_runtime(tiny_model, heads_of(tiny_model), "tensorrt")


def runtimes(model_dir: Path) -> list:
    out = [OnnxRuntime(model_dir / "model.onnx"), OpenVinoRuntime(model_dir / IR_XML, "f32")]
    if cpu_features().bf16:
        out.append(OpenVinoRuntime(model_dir / IR_XML, "bf16"))
    return out


def test_every_runtime_passes_the_parity_gate_on_the_probe(tiny_model: Path) -> None:
    probe = Probe.load(tiny_model / PROBE_FILE)
    for runtime in runtimes(tiny_model):
        result = compare(probe, runtime, heads_of(tiny_model))
        assert passes(result, EXPORT_GATE), (runtime.name, runtime.precision, result)


def test_runtimes_agree_on_served_outputs_and_buckets_change_nothing(tiny_model: Path) -> None:
    ort_model = TriageModel(tiny_model, runtime="onnxruntime")
    ov_model = TriageModel(tiny_model, runtime="openvino", precision="f32")
    assert ov_model.runtime.pad_multiple == 32
    ids, mask = ov_model.encode(TEXTS, "query: ")
    assert ids.shape[1] % 32 == 0 and mask.sum() == ort_model.encode(TEXTS, "query: ")[1].sum()
    a_logits, a_emb = ort_model.run(TEXTS)
    b_logits, b_emb = ov_model.run(TEXTS)
    for head in a_logits:
        assert (a_logits[head].argmax(1) == b_logits[head].argmax(1)).all()
    assert np.min((a_emb * b_emb).sum(1)) > 0.99
    one_by_one = np.concatenate([ov_model.run([t])[1] for t in TEXTS])  # other widths, other buckets
    assert np.allclose(one_by_one, b_emb, atol=1e-4)
    only = ov_model.run(TEXTS, embedding_only=True)  # the graph without the head branch
    assert only[0] == {} and np.allclose(only[1], b_emb, atol=1e-4)


def test_v1_model_reports_the_runtime(tiny_model: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.settings import Settings

    settings = Settings(model_dir=tiny_model, store_url=f"sqlite:///{tmp_path / 's.sqlite3'}", seed_kb=None,
                        auth_enabled=False, runtime="openvino", runtime_precision="f32")
    with TestClient(create_app(settings)) as client:
        body = client.get("/v1/model").json()
    rt = body["runtime"]
    assert (rt["name"], rt["precision"]) == ("openvino", "f32")
    assert rt["tried"][0]["ok"] and "flags" in rt["cpu"]


def test_a_corrupted_graph_of_the_chosen_runtime_fails_loudly(tiny_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "model"
    shutil.copytree(tiny_model, bad)
    with open(bad / "openvino" / "model.bin", "r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(ArtifactError, match="openvino/model.bin does not match its sha256"):
        TriageModel(bad)  # no silent fallback to onnxruntime on a tampered file
    assert TriageModel(bad, runtime="onnxruntime").runtime.name == "onnxruntime"  # its graph is intact


def test_openvino_keeps_its_compiled_model_in_the_cache_dir(tiny_model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "ov-cache"
    first = TriageModel(tiny_model, runtime="openvino", precision="f32", cache_dir=cache)
    ir_sha = json.loads((tiny_model / "manifest.json").read_text())["files"]["openvino/model.bin"]
    assert [p.name for p in cache.iterdir()] == [ir_sha[:16]]  # one folder per IR: never another model's blob
    assert any((cache / ir_sha[:16]).iterdir())
    again = TriageModel(tiny_model, runtime="openvino", precision="f32", cache_dir=cache)  # loads from the cache
    assert np.allclose(first.run(TEXTS)[1], again.run(TEXTS)[1], atol=1e-5)


def test_the_compiled_model_cache_sits_beside_the_sqlite_store_unless_set_or_off(tmp_path: Path) -> None:
    from service.settings import Settings

    store = f"sqlite:///{tmp_path / 'db' / 's.sqlite3'}"
    assert Settings(store_url=store, auth_enabled=False).runtime_cache_path == tmp_path / "db" / "openvino-cache"
    chosen = Settings(store_url=store, auth_enabled=False, runtime_cache_dir=tmp_path / "c").runtime_cache_path
    assert chosen == tmp_path / "c"
    assert Settings(store_url=store, auth_enabled=False, runtime_cache=False).runtime_cache_path is None
    assert Settings(store_url="postgresql://u@h/db", auth_enabled=False).runtime_cache_path is None


def test_the_start_up_probe_runs_in_small_batches(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenVINO keeps activation memory for the largest batch it ran: the probe must not be one 32-post batch."""
    batches: list[int] = []
    run = OpenVinoRuntime.run

    def counted(self: OpenVinoRuntime, outputs: list[str], ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        batches.append(len(ids))
        return run(self, outputs, ids, mask)

    monkeypatch.setattr(OpenVinoRuntime, "run", counted)
    sel = select_runtime(tiny_model, heads_of(tiny_model), "openvino", "f32")
    assert sel.tried[-1]["ok"] and sel.tried[-1]["probe"]["n"] == sum(batches) > START_BATCH
    assert max(batches) <= START_BATCH


def test_openvino_runs_from_many_threads_with_a_small_request_pool(tiny_model: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    model = TriageModel(tiny_model, runtime="openvino", precision="f32")
    alone = model.run(TEXTS)[1]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: model.run([TEXTS[i % len(TEXTS)]])[1][0], range(40)))
    for i, emb in enumerate(results):
        assert np.allclose(emb, alone[i % len(TEXTS)], atol=1e-4)


def test_openvino_still_loads_after_the_answer_index_used_usearch(tiny_model: Path) -> None:
    """usearch loaded first used to break OpenVINO in the process (models/native.py); in a fresh
    interpreter: build an HNSW index first, then load the model on OpenVINO and run it."""
    import subprocess

    code = ("import numpy as np\n"
            "from models.index import AnnConfig, VectorIndex\n"
            "idx = VectorIndex(8, ann=AnnConfig(min_answers=1))\n"
            "v = np.eye(8, dtype=np.float32)\n"
            "idx.rebuild([str(i) for i in range(8)], v, [{} for _ in range(8)])\n"
            "from models.inference import TriageModel\n"
            f"m = TriageModel({str(tiny_model)!r}, runtime='openvino', precision='f32', cache_dir=None)\n"
            "print(m.runtime.name, len(m.predict(['geen bereik'])[0]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["openvino", "1"]


def test_the_cache_removes_other_models_folders_unused_for_a_week(tmp_path: Path) -> None:
    from models.runtime.cache import model_cache_folder

    root = tmp_path / "ov-cache"
    week_old = time.time() - 8 * 86400
    for name in ("aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", "not-ours"):
        (root / name).mkdir(parents=True)
        (root / name / "blob").write_bytes(b"x")
        os.utime(root / name, (week_old, week_old))
    os.utime(root / "bbbbbbbbbbbbbbbb")  # another replica's model, used today
    (root / "cccccccccccccccc").write_bytes(b"a file, not a cache folder")
    os.utime(root / "cccccccccccccccc", (week_old, week_old))
    folder, removed = model_cache_folder(root, "a" * 64)  # our own stale folder: kept and marked as used
    assert folder == root / "aaaaaaaaaaaaaaaa" and (folder / "blob").exists()
    assert folder.stat().st_mtime > week_old + 86400
    assert removed == []
    _, removed = model_cache_folder(root, "d" * 64)
    assert removed == [] and (root / "aaaaaaaaaaaaaaaa").exists()  # used just now
    os.utime(root / "aaaaaaaaaaaaaaaa", (week_old, week_old))
    _, removed = model_cache_folder(root, "d" * 64)
    assert removed == ["aaaaaaaaaaaaaaaa"]
    assert sorted(p.name for p in root.iterdir()) == ["bbbbbbbbbbbbbbbb", "cccccccccccccccc", "dddddddddddddddd",
                                                     "not-ours"]
