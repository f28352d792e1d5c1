"""Export the multi-task model to OpenVINO IR (openvino/model.xml + .bin) beside model.onnx.

The IR is converted from the fp32 ONNX graph (not the int8 one), weights stored in fp16;
OpenVINO then runs it in bf16 on CPUs with AMX or AVX512-BF16 and in fp32 elsewhere
(service/runtime). The export writes a parity probe (models/runtime/probe.py) so the service can
check, on the CPU it starts on, that the runtime it picked still agrees with torch fp32.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from models.runtime import IR_DIR, IR_XML, PROBE_FILE, compare, cpu_features, passes
from models.runtime.openvino_runtime import OpenVinoRuntime
from models.runtime.probe import EXPORT_GATE
from training.export_onnx import export_onnx, make_probe
from training.model import MultiTaskModel

PROBE_POSTS = 32


def export_openvino(model: MultiTaskModel, out: Path, dev_batches: list[tuple[torch.Tensor, torch.Tensor]]
                    ) -> dict:
    """Write out/openvino/model.{xml,bin} and out/runtime_probe.npz (the first 32 dev posts);
    return the IR's parity with torch on the whole dev split at each precision this CPU offers
    (the export gate: models/runtime/probe.py)."""
    import openvino as ov

    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_onnx(model, Path(tmp) / "model.onnx", quantize=False)
        ir = ov.convert_model(str(fp32))
        (out / IR_DIR).mkdir(parents=True, exist_ok=True)
        ov.save_model(ir, str(out / IR_XML), compress_to_fp16=True)
    dev = make_probe(model, dev_batches)
    dev.head(PROBE_POSTS).save(out / PROBE_FILE)
    report = {}
    for precision in ["f32"] + (["bf16"] if cpu_features().bf16 else []):
        runtime = OpenVinoRuntime(out / IR_XML, precision=precision, threads=0)
        result = compare(dev, runtime, model.heads_order)
        report[precision] = {**result, "passes": passes(result, EXPORT_GATE)}
    return report


def add_openvino(model_dir: Path, data: Path) -> dict:
    """Export the IR and probe of an already trained model directory from its best checkpoint
    (`python -m training export-openvino`), and list them in its manifest."""
    from models.artifact import load_manifest, write_manifest
    from models.encoder import load_tokenizer
    from models.schema import LabelConfig
    from training.artifact_writer import served_files
    from training.batches import Batcher, text_batches
    from training.corpus import load_corpus
    from training.train import load_checkpoint_model

    manifest = load_manifest(model_dir, kind="triage-model", verify_files=False)
    cfg, model = load_checkpoint_model(model_dir)
    corpus = load_corpus(data, LabelConfig(manifest.label_sets))
    batcher = Batcher(load_tokenizer(cfg.base), cfg.max_length)
    report = export_openvino(model, model_dir, text_batches(batcher, corpus.posts.splits["dev"]))
    manifest.metrics["openvino_export"] = report
    write_manifest(model_dir, manifest, served_files(model_dir))
    return report
