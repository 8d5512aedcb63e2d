"""TFX's Trainer (and its Vertex AI Training variant) with the run-time parameters ``yt8m_model``
and ``yt8m_num_epochs``: execution properties of their own (components/run_parameters.py), which
the executor hands to the run_fn under custom_config's ``run_time`` key
(trainer_module/tfx_entry/run_time.py resolves them). Everything else is TFX's Trainer.
"""
from __future__ import annotations

from tfx import v1 as tfx
from tfx.components.trainer import executor as trainer_executor
from tfx.dsl.components.base import executor_spec
from tfx.extensions.google_cloud_ai_platform.trainer import executor as vertex_executor
from tfx.types import standard_component_specs as specs
from tfx.utils import json_utils

from components import run_parameters
from trainer_module.tfx_entry import run_time

# execution property -> the run_fn's run-time key
PARAMETERS = {"yt8m_model": run_time.MODEL, "yt8m_num_epochs": run_time.NUM_EPOCHS}
TrainerSpec = run_parameters.extend_spec(specs.TrainerSpec, "YT8MTrainerSpec",
                                         {"yt8m_model": str, "yt8m_num_epochs": int})


def fold_run_time(exec_properties: dict) -> dict:
    """The exec properties TFX's executor takes: the run-time ones moved into custom_config."""
    rest, given = run_parameters.pop_parameters(exec_properties, PARAMETERS)
    custom = json_utils.loads(rest.get(specs.CUSTOM_CONFIG_KEY) or "{}")
    custom[run_time.RUN_TIME_KEY] = {PARAMETERS[k]: v for k, v in given.items()}
    return {**rest, specs.CUSTOM_CONFIG_KEY: json_utils.dumps(custom)}


class Executor(trainer_executor.GenericExecutor):
    """TFX's generic Trainer executor, run-time parameters folded in."""

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802 (TFX's name)
        return super().Do(input_dict, output_dict, fold_run_time(exec_properties))


class VertexExecutor(vertex_executor.GenericExecutor):
    """The Vertex AI Training launcher: the training job gets the folded custom_config."""

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802 (TFX's name)
        return super().Do(input_dict, output_dict, fold_run_time(exec_properties))


class Trainer(tfx.components.Trainer):
    """TFX's Trainer; ``run_time``: {"yt8m_model": …, "yt8m_num_epochs": …} (values or
    RuntimeParameters)."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, run_time: dict, **kwargs):
        super().__init__(**kwargs)
        run_parameters.add_parameters(self, TrainerSpec, run_time)


class VertexTrainer(tfx.extensions.google_cloud_ai_platform.Trainer):
    """The Trainer that runs as a Vertex AI Training job; same run-time parameters."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(VertexExecutor)

    def __init__(self, run_time: dict, **kwargs):
        super().__init__(**kwargs)
        run_parameters.add_parameters(self, TrainerSpec, run_time)
