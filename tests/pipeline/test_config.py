"""pipeline/config.py's PipelineConfig: validated at the boundary, every error naming its
field; local paths absolute; defaults that depend on the task; config files (and keys renamed
since) read with one-line errors."""
import json
import os

import pytest

from pipeline.config import PipelineConfig


def test_gpu_flags_validated():
    with pytest.raises(ValueError, match="`gpu_type` and `gpu_count`"):
        PipelineConfig.of(data_dir="d", gpu_count=1)


def test_local_paths_are_stored_absolute(tmp_path, monkeypatch):
    """ML Metadata stores these: runs, reports and the cache must not depend on the folder."""
    monkeypatch.chdir(tmp_path)
    config = PipelineConfig.of(data_dir="demo_data", pipeline_root="demo_output",
                            vocabulary="~/vocabulary.csv", serving_dir="gs://bkt/serving")
    assert config.data.data_dir == str(tmp_path / "demo_data")
    assert config.pipeline_root == str(tmp_path / "demo_output")
    assert config.data.vocabulary == os.path.expanduser("~/vocabulary.csv")
    assert config.serving_dir == "gs://bkt/serving"  # URIs as given
    assert config.replace(data_dir=str(tmp_path / "demo_data")) == config  # one cache key
    with pytest.raises(ValueError, match="`platform` 'kubeflow' is compiled, not run locally"):
        from pipeline import local_runner
        local_runner.run(config.replace(platform="kubeflow"))


def test_the_segment_task_has_its_own_pipeline_and_serving_folder():
    """A segment run's baseline is a segment model (the Evaluator calls its segment signature)
    and TF Serving's folder keeps one task's versions; explicit settings win."""
    video = PipelineConfig.of(data_dir="d", pipeline_root="/r")
    segments = video.replace(frame_features=True, segment_labels=True, pipeline_name=None)
    assert (video.pipeline_name, video.resolved_serving_dir()) == ("yt8m", "/r/serving_model")
    assert (segments.pipeline_name, segments.resolved_serving_dir()) == (
        "yt8m-segments", "/r/serving_model_segments")
    mine = segments.replace(pipeline_name="mine", serving_dir="/srv")
    assert (mine.pipeline_name, mine.resolved_serving_dir()) == ("mine", "/srv")
    with pytest.raises(ValueError, match="`segment_max_pred` must be >= 1"):
        segments.replace(segment_max_pred=0)


def test_training_settings_are_the_models_defaults_with_the_configs_overrides():
    base = PipelineConfig.of(data_dir="d", frame_features=True, model="DbofModel")
    mine = base.replace(batch_size=7, max_steps=9, ema_decay=0.5)
    assert mine.train_config().batch_size == 7 and mine.training == {
        "batch_size": 7, "max_steps": 9, "ema_decay": 0.5}
    assert (mine.train_config().max_steps, mine.train_config().ema_decay) == (9, 0.5)
    assert base.train_config().batch_size != 7 and base.train_config().max_steps is None
    # every TrainConfig setting, as `yt8m train` has them
    seeded = base.replace(optimizer="RMSPropOptimizer", clip_gradient_norm=0.5, seed=3,
                          learning_rate_decay=0.9, regularization_penalty=0.1,
                          log_every_steps=5, export_model_steps=50)
    assert (seeded.train_config().optimizer, seeded.train_config().seed,
            seeded.train_config().learning_rate_decay) == ("RMSPropOptimizer", 3, 0.9)


@pytest.mark.parametrize("changes, said", [
    ({"segment_labels": True}, "`segment_labels` trains on 5-frame segments of frame-level"),
    ({"platform": "kubeflow", "trainer_backend": "vertex_training", "project": "p",
      "region": "r"}, "open-source Kubeflow Pipelines refuses"),
    ({"beam_workers": 2, "beam_args": ("--runner=DataflowRunner",)}, "set one or the other"),
    ({"top_k": 0}, "`top_k` must be between 1 and"),
    ({"pipeline_name": "Bad_Name"}, "`pipeline_name` 'Bad_Name' is not a pipeline name"),
    ({"max_steps": 0}, "`max_steps` must be >= 1"),
])
def test_invalid_combinations_name_their_fields(changes, said):
    with pytest.raises(ValueError, match=None) as e:
        PipelineConfig.of(data_dir="d", **changes)
    assert said in str(e.value)


def test_a_config_file_loads_flags_win_and_renamed_or_unknown_keys_are_named(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("\ufeff" + json.dumps({"data_dir": "d", "num_epochs": 3, "model": "MoeModel"}),
                    encoding="utf-8")  # a byte-order mark is fine
    config = PipelineConfig.from_file(str(path), num_epochs=5, model=None)
    assert (config.train_config().num_epochs, config.model_name) == (5, "MoeModel")  # None: not given
    path.write_text(json.dumps({"data_dir": "d", "train_steps": 5}))
    with pytest.raises(ValueError, match='the key "train_steps" is now "max_steps"'):
        PipelineConfig.from_file(str(path))
    path.write_text(json.dumps({"data_dir": "d", "epochs": 5}))
    with pytest.raises(ValueError, match="unknown key 'epochs'; valid: the sections data, "
                                         "model, .* or a setting's name .*num_epochs"):
        PipelineConfig.from_file(str(path))




def _readme_example() -> dict:
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md"),
                  encoding="utf-8").read()
    block = readme.split("Config file (`--config F.json`", 1)[1].split("```json\n", 1)[1]
    return json.loads(block.split("```", 1)[0])


def test_the_nested_form_and_the_flat_form_of_earlier_versions_are_one_config(tmp_path):
    """The README's config file (sections) and the same settings as top-level keys (the form
    of earlier versions: a name belongs to one section) give equal configs; the training
    section is the whole TrainConfig."""
    nested = _readme_example()
    flat = {k: v for section in ("data", "model", "training", "evaluation", "beam", "deployment")
            for k, v in nested[section].items()}
    flat["pipeline_root"] = nested["pipeline_root"]
    paths = {}
    for name, form in (("nested", nested), ("flat", flat)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(form))
    a, b = (PipelineConfig.from_file(str(p)) for p in paths.values())
    assert a == b and a.to_dict() == b.to_dict()
    assert (a.model_name, a.deployment.gpu_count, a.beam.beam_workers) == (
        "NeXtVladModel", 1, 2)
    train = a.train_config()
    assert (train.batch_size, train.num_epochs, train.seed, train.expected_gpus) == (128, 6, 1, 1)
    assert train.base_learning_rate == 0.001  # not given: NeXtVladModel's default
    assert a.model_flags().hparams["vlad_dropout"] == 0.4
    assert PipelineConfig.from_dict(a.to_dict()) == a  # to_dict is a config file


@pytest.mark.parametrize("content, said", [
    ({"data": {"data_dir": "d", "top_k": 5}}, "`data` has no setting 'top_k'; its settings: "
                                              "data_dir, data_layout"),
    ({"data": {"data_dir": "d"}, "training": {"epochs": 2}}, "`training` has no setting 'epochs'"),
    ({"data": {"data_dir": "d"}, "training": {"expected_gpus": 1}},
     "`training` has no setting 'expected_gpus'"),
    ({"data": {"data_dir": "d"}, "training": {"train_steps": 9}},
     'the key "training.train_steps" is now "training.max_steps"'),
    ({"data": "d"}, "`data` must be an object of settings, got 'd'"),
    ({"data_dir": "d", "trainer_gpu_type": "NVIDIA_TESLA_T4"},
     'the key "trainer_gpu_type" is now "gpu_type" (the same setting; rename the key)'),
    ({"data": {"data_dir": "d"}, "deployment": {"vertex_project": "p"}},
     'the key "deployment.vertex_project" is now "deployment.project"'),
    ({"data": {"data_dir": "d"}, "model": {"hparams": {"dnn_head": "MoeModel"}}},
     "`hparams.dnn_head` is now `hparams.video_level_classifier_model`"),
])
def test_a_section_names_what_it_does_not_hold(content, said):
    with pytest.raises(ValueError) as e:
        PipelineConfig.from_dict(content)
    assert said in str(e.value)
