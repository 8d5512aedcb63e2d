"""pipeline/config.py's PipelineConfig: validated at the boundary, every error naming its
field; local paths absolute; defaults that depend on the task; config files (and keys renamed
since) read with one-line errors."""
import json
import os

import pytest

from pipeline.config import PipelineConfig


def test_gpu_flags_validated():
    with pytest.raises(ValueError, match="`trainer_gpu_type` and `trainer_gpu_count`"):
        PipelineConfig(data_dir="d", trainer_gpu_count=1)


def test_local_paths_are_stored_absolute(tmp_path, monkeypatch):
    """ML Metadata stores these: runs, reports and the cache must not depend on the folder."""
    monkeypatch.chdir(tmp_path)
    config = PipelineConfig(data_dir="demo_data", pipeline_root="demo_output",
                            vocabulary="~/vocabulary.csv", serving_dir="gs://bkt/serving")
    assert config.data_dir == str(tmp_path / "demo_data")
    assert config.pipeline_root == str(tmp_path / "demo_output")
    assert config.vocabulary == os.path.expanduser("~/vocabulary.csv")
    assert config.serving_dir == "gs://bkt/serving"  # URIs as given
    assert config.replace(data_dir=str(tmp_path / "demo_data")) == config  # one cache key
    with pytest.raises(ValueError, match="`platform` 'kubeflow' is compiled, not run locally"):
        from pipeline import local_runner
        local_runner.run(config.replace(platform="kubeflow"))


def test_the_segment_task_has_its_own_pipeline_and_serving_folder():
    """A segment run's baseline is a segment model (the Evaluator calls its segment signature)
    and TF Serving's folder keeps one task's versions; explicit settings win."""
    video = PipelineConfig(data_dir="d", pipeline_root="/r")
    segments = video.replace(frame_features=True, segment_labels=True, pipeline_name=None)
    assert (video.pipeline_name, video.resolved_serving_dir()) == ("yt8m", "/r/serving_model")
    assert (segments.pipeline_name, segments.resolved_serving_dir()) == (
        "yt8m-segments", "/r/serving_model_segments")
    mine = segments.replace(pipeline_name="mine", serving_dir="/srv")
    assert (mine.pipeline_name, mine.resolved_serving_dir()) == ("mine", "/srv")
    with pytest.raises(ValueError, match="`segment_max_pred` must be >= 1"):
        segments.replace(segment_max_pred=0)


def test_training_settings_are_the_models_defaults_with_the_configs_overrides():
    base = PipelineConfig(data_dir="d", frame_features=True, model="DbofModel")
    mine = base.replace(batch_size=7, max_steps=9, ema_decay=0.5)
    assert mine.training_settings()["batch_size"] == 7
    assert (mine.training_settings()["max_steps"], mine.training_settings()["ema_decay"]) == (9, 0.5)
    assert base.training_settings()["batch_size"] != 7 and base.training_settings()["max_steps"] is None


@pytest.mark.parametrize("changes, said", [
    ({"segment_labels": True}, "`segment_labels` trains on 5-frame segments of frame-level"),
    ({"platform": "kubeflow", "trainer_backend": "vertex_training", "vertex_project": "p",
      "vertex_region": "r"}, "open-source Kubeflow Pipelines refuses"),
    ({"beam_workers": 2, "beam_args": ("--runner=DataflowRunner",)}, "set one or the other"),
    ({"top_k": 0}, "`top_k` must be between 1 and"),
    ({"pipeline_name": "Bad_Name"}, "`pipeline_name` 'Bad_Name' is not a pipeline name"),
    ({"max_steps": 0}, "`max_steps` must be >= 1"),
])
def test_invalid_combinations_name_their_fields(changes, said):
    with pytest.raises(ValueError, match=None) as e:
        PipelineConfig(data_dir="d", **changes)
    assert said in str(e.value)


def test_a_config_file_loads_flags_win_and_renamed_or_unknown_keys_are_named(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("\ufeff" + json.dumps({"data_dir": "d", "num_epochs": 3, "model": "MoeModel"}),
                    encoding="utf-8")  # a byte-order mark is fine
    config = PipelineConfig.from_file(str(path), num_epochs=5, model=None)
    assert (config.num_epochs, config.model) == (5, "MoeModel")  # None: not given
    path.write_text(json.dumps({"data_dir": "d", "train_steps": 5}))
    with pytest.raises(ValueError, match='the key "train_steps" is now "max_steps"'):
        PipelineConfig.from_file(str(path))
    path.write_text(json.dumps({"data_dir": "d", "epochs": 5}))
    with pytest.raises(ValueError, match="unknown keys epochs; valid: .*num_epochs"):
        PipelineConfig.from_file(str(path))


