"""LocalDagRunner end to end on tiny generated data (video level and frame level).

One pipeline run per level is shared by several assertions (each run costs a minute or two).
"""
import csv
import glob
import os

import numpy as np
import pytest
import tensorflow as tf
from ml_metadata.metadata_store import metadata_store

from pipeline import create, local_runner, outcome
from pipeline.config import PipelineConfig
from trainer_module import metrics as M
from trainer_module import synthetic_data
from yt8m_cli.main import main

pytestmark = pytest.mark.e2e


def _config(data_dir, root, frame):
    extra = ({"hparams": {"dbof_cluster_size": 32, "dbof_hidden_size": 16, "iterations": 6},
              "max_frames": 20} if frame else {"hparams": {"dnn_hidden_size": 64}})
    return PipelineConfig(data_dir=data_dir, pipeline_root=root, frame_features=frame,
                          batch_size=16, num_epochs=3, **extra)


@pytest.fixture(scope="module", params=[False, True], ids=["video", "frame"])
def run(request, tmp_path_factory):
    frame = request.param
    base = tmp_path_factory.mktemp("e2e_frame" if frame else "e2e_video")
    data = str(base / "data")
    synthetic_data.generate(synthetic_data.GeneratorConfig(
        output_dir=data, num_videos=120, frame_level=frame, num_shards=2, seed=2,
        min_frames=5, max_frames=20, signal=2.0), progress=False)
    config = _config(data, str(base / "root"), frame)
    return config, local_runner.run(config)


def _split_records(config, split):
    files = glob.glob(os.path.join(config.pipeline_root, "ImportExampleGen", "examples", "*",
                                   f"Split-{split}", "*"))
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def test_blessed_pushed_and_evaluator_gap_matches_metrics_module(run):
    config, result = run
    assert result["blessed"] and result["pushed"]
    assert os.path.exists(os.path.join(result["pushed_dir"], "saved_model.pb"))
    model_dir = glob.glob(os.path.join(config.pipeline_root, "Trainer", "model", "*", "Format-Serving"))[0]
    serve = tf.saved_model.load(model_dir).signatures["serving_default"]
    transform = tf.saved_model.load(model_dir).signatures["transform_features"]
    records = tf.constant(_split_records(config, "eval"))
    preds = serve(examples=records)["predictions"].numpy()
    labels = transform(examples=records)["labels_multi_hot"].numpy()
    assert preds.shape == labels.shape == (len(records), 3862)
    assert result["metrics"]["gap"] == pytest.approx(M.gap(preds, labels, 20), abs=1e-6)
    assert result["metrics"]["hit_at_one"] == pytest.approx(M.hit_at_one(preds, labels), abs=1e-6)


def test_kaggle_csv_and_tgz(run, tmp_path):
    config, result = run
    rows = list(csv.reader(open(result["csv"])))
    test_ids = {tf.train.Example.FromString(r).features.feature["id"].bytes_list.value[0].decode()
                if not config.frame_features else
                tf.train.SequenceExample.FromString(r).context.feature["id"].bytes_list.value[0].decode()
                for r in _split_records(config, "test")}
    assert rows[0] == ["VideoId", "LabelConfidencePairs"]
    assert {r[0] for r in rows[1:]} == test_ids and len(rows) - 1 == len(test_ids) == result["csv_rows"]
    for _, pairs in rows[1:]:
        tokens = pairs.split()
        assert len(tokens) == 40 and [float(s) for s in tokens[1::2]] == sorted(
            [float(s) for s in tokens[1::2]], reverse=True)
    out = str(tmp_path / "from_tgz.csv")
    level = "frame" if config.frame_features else "video"
    assert main(["inference", "--input_model_tgz", result["model_tgz"], "--untar_model_dir",
                 str(tmp_path / "m"), "--output_file", out, "--input_data_pattern",
                 os.path.join(config.data_dir, level, "test*")]) == 0
    assert sorted(open(out).read().splitlines()) == sorted(open(result["csv"]).read().splitlines())


def _node_states(config) -> dict:
    store = metadata_store.MetadataStore(create.sqlite_connection(config.resolved_metadata_path()))
    return {node: state for node, state, _ in outcome.component_times(store)}


UPSTREAM = ("ImportExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform")


def test_rerun_is_cached_model_change_retrains_high_threshold_blocks_push(run):
    config, first = run
    if config.frame_features:
        pytest.skip("cache and blessing behaviour is the same code path; checked on video level")
    assert [n for n, _, _ in first["components"]][:2] == ["ImportExampleGen", "StatisticsGen"]
    local_runner.run(config)
    states = _node_states(config)
    # The Evaluator re-runs: its baseline input is now the first run's blessed model.
    assert all(states[n] == "CACHED" for n in (*UPSTREAM, "Trainer")), states
    # another model width: Trainer and downstream run again, everything upstream stays cached
    wider = config.replace(hparams={"dnn_hidden_size": 32})
    local_runner.run(wider)
    states = _node_states(wider)
    assert all(states[n] == "CACHED" for n in UPSTREAM), states
    assert states["Trainer"] == "COMPLETE" and states["Evaluator"] == "COMPLETE"
    pushes_before = len(os.listdir(config.resolved_serving_dir()))
    strict = local_runner.run(config.replace(gap_threshold=1.0))
    assert not strict["blessed"] and not strict["pushed"]
    assert strict["csv"] is None and strict["model_tgz"] is None  # KaggleExport skipped
    assert len(os.listdir(config.resolved_serving_dir())) == pushes_before  # nothing new pushed
