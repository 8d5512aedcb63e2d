"""The compiled pipeline's run-time parameters: what the "create run" form of Vertex AI Pipelines
and Kubeflow Pipelines can change, the compiled values as defaults.

========================  =====  ==============================================================
parameter                 type   goes to
========================  =====  ==============================================================
``data_dir``              str    ImportExampleGen's input base (split patterns stay compiled)
``model``                 str    the Trainer (a registry model of the compiled level)
``num_epochs``            int    the Trainer (used as given; the step floor still applies)
``gap_threshold``         float  the Evaluator's blessing threshold on GAP@top_k
``gap_change_tolerance``  float  how much worse than the last blessed model still blesses
========================  =====  ==============================================================

Locally (LocalDagRunner, no form) the same execution properties hold the plain values, so one
code path serves both.
"""
from __future__ import annotations

from tfx import v1 as tfx

from pipeline.config import PipelineConfig



def declared(config: PipelineConfig) -> dict[str, tuple[type, object]]:
    """{parameter: (type, the compiled value)} in the order of the table above."""
    return {"data_dir": (str, config.data.data_dir),
            "model": (str, config.model_name),
            "num_epochs": (int, config.train_config().num_epochs),
            "gap_threshold": (float, config.evaluation.gap_threshold),
            "gap_change_tolerance": (float, config.evaluation.gap_change_tolerance)}


def defaults(config: PipelineConfig) -> dict:
    """{parameter: compiled value}: the runner writes them into the compiled file (TFX drops a
    RuntimeParameter's own default when compiling for Kubeflow V2)."""
    return {name: ptype(value) for name, (ptype, value) in declared(config).items()}


def _value(config: PipelineConfig, name: str):
    ptype, value = declared(config)[name]
    if config.deployment.platform == "local":
        return ptype(value)
    return tfx.dsl.experimental.RuntimeParameter(name=name, ptype=ptype, default=ptype(value))


def data_dir(config: PipelineConfig):
    return _value(config, "data_dir")


def trainer(config: PipelineConfig) -> dict:
    """The Trainer's run-time execution properties (components/trainer)."""
    return {"yt8m_model": _value(config, "model"), "yt8m_num_epochs": _value(config, "num_epochs")}


def evaluator(config: PipelineConfig) -> dict:
    """The Evaluator's run-time execution properties (components/fixed_batch_evaluator)."""
    return {"yt8m_gap_threshold": _value(config, "gap_threshold"),
            "yt8m_gap_change_tolerance": _value(config, "gap_change_tolerance")}
