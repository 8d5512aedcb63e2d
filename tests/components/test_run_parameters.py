"""Run-time parameters as execution properties of TFX's Trainer and Evaluator: declared by an
extended spec (type-checked by TFX), folded into custom_config / the eval config before TFX's
executor runs."""
import json

import pytest
import tensorflow_model_analysis as tfma
from tfx import v1 as tfx
from tfx.types import standard_component_specs as specs
from tfx.utils import proto_utils

from components import run_parameters
from components.fixed_batch_evaluator import component as evaluator
from components.trainer import component as trainer
from pipeline import eval_config


def test_fold_run_time_moves_the_values_into_custom_config():
    props = {"custom_config": json.dumps({"model_flags": {}}), "yt8m_model": "MoeModel",
             "yt8m_num_epochs": 3, "run_fn": "m.f"}
    folded = trainer.fold_run_time(props)
    assert set(folded) == {"custom_config", "run_fn"}
    assert json.loads(folded["custom_config"]) == {
        "model_flags": {}, "run_time": {"model": "MoeModel", "num_epochs": 3}}


def test_apply_thresholds_rewrites_the_gap_thresholds():
    config = eval_config.make_eval_config(20, 0.1, 1e-10)
    props = {specs.EVAL_CONFIG_KEY: proto_utils.proto_to_json(config),
             evaluator.THRESHOLD: 0.75, evaluator.TOLERANCE: 0.01}
    out = evaluator.apply_thresholds(props)
    assert set(out) == {specs.EVAL_CONFIG_KEY}
    gap = proto_utils.json_to_proto(out[specs.EVAL_CONFIG_KEY], tfma.EvalConfig()) \
        .metrics_specs[0].thresholds["gap"]
    assert gap.value_threshold.lower_bound.value == 0.75
    assert gap.change_threshold.absolute.value == -0.01
    unchanged = evaluator.apply_thresholds({specs.EVAL_CONFIG_KEY: "{}"})
    assert unchanged == {specs.EVAL_CONFIG_KEY: "{}"}


@pytest.mark.parametrize("props, message", [
    ({evaluator.THRESHOLD: 1.5}, "`gap_threshold` must be in \\[0, 1\\], got 1.5"),
    ({evaluator.TOLERANCE: -0.1}, "`gap_change_tolerance` must be >= 0"),
])
def test_bad_thresholds_name_the_parameter(props, message):
    config = proto_utils.proto_to_json(eval_config.make_eval_config(20, 0.0, 0.0))
    with pytest.raises(ValueError, match=f"run-time parameter {message}"):
        evaluator.apply_thresholds({specs.EVAL_CONFIG_KEY: config, **props})


def test_components_declare_and_type_check_the_parameters():
    examples = tfx.dsl.Channel(type=tfx.types.standard_artifacts.Examples)
    runtime = tfx.dsl.experimental.RuntimeParameter(name="num_epochs", ptype=int, default=2)
    node = trainer.Trainer({"yt8m_model": "MoeModel", "yt8m_num_epochs": runtime},
                           run_fn="m.run_fn", examples=examples,
                           train_args=tfx.proto.TrainArgs(num_steps=None))
    assert isinstance(node.spec, trainer.TrainerSpec)
    assert node.exec_properties["yt8m_model"] == "MoeModel"
    assert node.exec_properties["yt8m_num_epochs"] is runtime
    assert node.exec_properties["run_fn"] == "m.run_fn"  # TFX's own arguments kept
    assert set(node.outputs) == {"model", "model_run"}
    with pytest.raises(TypeError, match="yt8m_num_epochs"):
        trainer.Trainer({"yt8m_num_epochs": "three"}, run_fn="m.run_fn", examples=examples)


def test_a_parameter_may_not_shadow_an_argument():
    with pytest.raises(ValueError, match=r"\['model'\] already name an argument of TrainerSpec"):
        run_parameters.extend_spec(specs.TrainerSpec, "Bad", {"model": str})
