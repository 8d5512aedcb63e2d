"""RunReport component: the evaluated model's report, for this project's tools and the run UI.

Predicts the eval split with the Trainer's model (serving + transform_features signatures, the
Evaluator's view) in bounded batches, streams them through the metrics module and writes
``report.html`` (self-contained, plots embedded) plus ``report_data.npz`` (so `yt8m report RUN`
can re-render it with the GAP history of all runs) into a ``yt8m.RunReport`` artifact. For the
Kubeflow / Vertex AI run pages it also writes the Evaluator's overall metrics as a
``system.Metrics`` artifact, the same page as a ``system.HTML`` artifact and a short
``system.Markdown`` summary (kubeflow/ui_types.py: how the UIs find them).
"""
import os

import system
import yt8m
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import path_utils

from components.artifacts import is_frame_level
from components.run_report import report_lib
from trainer_module import io_utils
from trainer_module.data import features as F
from trainer_module.evaluation import metrics as M
from trainer_module.evaluation import report


@component
def RunReport(
    model: InputArtifact[standard_artifacts.Model],
    examples: InputArtifact[standard_artifacts.Examples],
    evaluation: InputArtifact[standard_artifacts.ModelEvaluation],
    run_report: OutputArtifact[yt8m.RunReport],
    metrics: OutputArtifact[system.Metrics],
    report_page: OutputArtifact[system.HTML],
    summary: OutputArtifact[system.Markdown],
    split: Parameter[str] = "eval",
    vocabulary: Parameter[str] = "",
    top_k: Parameter[int] = M.DEFAULT_TOP_K,
) -> None:
    from trainer_module.data import vocabulary as V

    serving_dir = path_utils.serving_model_dir(model.uri)
    split_uri = artifact_utils.get_split_uri([examples], split)
    batches = report_lib.predict_batches(serving_dir, os.path.join(split_uri, "*"),
                                         F.inference_batch_records(is_frame_level(examples)))
    data = report.reduce_batches(batches, top_k)
    report_lib.save(data, run_report.uri)
    names = V.load(vocabulary).names if vocabulary else None
    page = report.render("yt8m run report", data, label_names=names,
                         details={"model": model.uri, "split": split, "examples": examples.uri})
    path = os.path.join(run_report.uri, report_lib.HTML_FILE)
    io_utils.write_text(path, page)
    run_report.set_string_custom_property("path", path)
    run_report.set_float_custom_property("gap", float(data.metrics["gap"]))
    shown = report_lib.ui_metrics(report_lib.evaluator_metrics(evaluation.uri))
    for name, value in shown.items():
        metrics.set_float_custom_property(name, value)
    report_lib.write_file_artifact(report_page.uri, page)
    report_lib.write_file_artifact(summary.uri, report_lib.markdown_summary(
        shown, top_k, int(data.metrics["num_videos"]), model.uri))
    print(f"RunReport: GAP {data.metrics['gap']:.4f} over {data.metrics['num_videos']} videos "
          f"-> {path}")
