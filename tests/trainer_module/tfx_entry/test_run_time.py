"""The Trainer's run-time parameters applied to the compiled custom_config: another model gets
its own defaults under the user's explicit settings, epochs are used as given, bad values name
the parameter."""
import pytest

from pipeline import create
from pipeline.config import PipelineConfig
from trainer_module import models
from trainer_module.tfx_entry import run_time


def _custom_config(**config) -> dict:
    return create._custom_config(PipelineConfig.of(data_dir="/d", **config))


def test_no_run_time_values_is_the_compiled_config():
    cc = _custom_config(model="MoeModel", num_epochs=3)
    flags, settings = run_time.resolve(cc)
    assert flags.to_dict() == cc["model_flags"] and settings == cc["training"]


def test_another_model_gets_its_defaults_and_keeps_explicit_settings():
    cc = _custom_config(batch_size=64, label_smoothing=0.1)  # GatedDnnModel by default
    cc[run_time.RUN_TIME_KEY] = {"model": "MoeModel", "num_epochs": 2}
    flags, settings = run_time.resolve(cc)
    moe = models.training_settings("MoeModel")
    assert flags.model == "MoeModel" and flags.hparams == models.resolve_hparams("MoeModel", {})
    assert settings["batch_size"] == 64  # explicit: kept
    assert settings["base_learning_rate"] == moe["base_learning_rate"]  # the new model's
    assert settings["min_steps"] == moe["min_steps"] != cc["training"]["min_steps"]
    assert settings["label_smoothing"] == 0.1 and settings["num_epochs"] == 2


def test_another_model_of_a_segment_pipeline_stays_a_segment_model():
    """The segment task's run-time model is still trained on 5-frame segments."""
    cc = _custom_config(frame_features=True, segment_labels=True, model="DbofModel")
    cc[run_time.RUN_TIME_KEY] = {"model": "FrameLevelLogisticModel"}
    flags, _ = run_time.resolve(cc)
    assert (flags.model, flags.segment_labels, flags.max_frames) == (
        "FrameLevelLogisticModel", True, 5)


@pytest.mark.parametrize("values, message", [
    ({"model": "NoSuchModel"}, "run-time parameter `model` 'NoSuchModel'"),
    ({"model": "DbofModel"}, "run-time parameter `model` 'DbofModel'"),  # frame level
    ({"num_epochs": 0}, "`num_epochs` must be an integer >= 1"),
    ({"num_epochs": 1.5}, "`num_epochs` must be an integer >= 1"),
])
def test_bad_run_time_values_name_the_parameter(values, message):
    cc = _custom_config()
    cc[run_time.RUN_TIME_KEY] = values
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("`", "`")):
        run_time.resolve(cc)


def test_hparams_of_the_compiled_model_do_not_fit_another():
    cc = _custom_config(model="MoeModel", hparams={"moe_num_mixtures": 4})
    cc[run_time.RUN_TIME_KEY] = {"model": "LogisticModel"}
    with pytest.raises(ValueError, match="run-time parameter `model` 'LogisticModel'.*"
                                         "moe_num_mixtures"):
        run_time.resolve(cc)
