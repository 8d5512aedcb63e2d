"""LocalDagRunner end to end on tiny generated data (video level and frame level).

One pipeline run per level is shared by several assertions (each run costs a minute or two).
"""
import csv
import glob
import os
import tarfile
import tempfile

import pytest
import tensorflow as tf

from pipeline import local_runner, metadata, outcome
from pipeline.config import PipelineConfig
from trainer_module.data import synthetic as synthetic_data
from trainer_module.evaluation import metrics as M
from trainer_module.export import warmup
from yt8m_cli.main import main

pytestmark = pytest.mark.e2e


def _config(data_dir, root, frame):
    extra = ({"hparams": {"dbof_cluster_size": 32, "dbof_hidden_size": 16, "iterations": 6},
              "max_frames": 20} if frame else {"hparams": {"dnn_hidden_size": 64}})
    return PipelineConfig.of(data_dir=data_dir, pipeline_root=root, frame_features=frame,
                          batch_size=16, num_epochs=3, min_steps=0, **extra)


@pytest.fixture(scope="module", params=[False, True], ids=["video", "frame"])
def run(request, tmp_path_factory):
    frame = request.param
    base = tmp_path_factory.mktemp("e2e_frame" if frame else "e2e_video")
    data = str(base / "data")
    synthetic_data.generate(synthetic_data.GeneratorConfig(
        output_dir=data, num_videos=120, frame_level=frame, num_shards=2, seed=2,
        min_frames=5, max_frames=20, signal=2.0), progress=False)
    vocab = base / "vocabulary.csv"  # a stand-in vocabulary: names "label-<index>"
    vocab.write_text("Index,TrainVideoCount,Name\n" +
                     "".join(f"{i},{10 + i},label-{i}\n" for i in range(3862)))
    previous_cwd = os.getcwd()
    os.chdir(base)  # relative paths, as `make demo` gives them: stored absolute
    try:
        config = _config("data", "root", frame).replace(vocabulary="vocabulary.csv")
    finally:
        os.chdir(previous_cwd)
    assert config.pipeline_root == str(base / "root") and config.data.data_dir == data
    if not frame:  # any Beam argument makes TFX repackage itself into the temp folder
        config = config.replace(beam_args=("--direct_num_workers=1",))
    else:  # the model.tgz with float16 weights, from a SavedModel carrying the Transform graph
        config = config.replace(float16_tgz=True)
    scratch, previous = base / "tmp", tempfile.tempdir
    scratch.mkdir()
    tempfile.tempdir = str(scratch)
    try:
        result = local_runner.run(config)
    finally:
        tempfile.tempdir = previous
    result["temp_left"] = os.listdir(scratch)
    return config, result


def test_run_leaves_nothing_in_the_temp_folder(run):
    _, result = run
    assert result["temp_left"] == []


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
    # the Evaluator keeps every output of transform_features: not the model input (4x the bytes)
    assert set(transform.structured_outputs) == {"labels_multi_hot", "num_frames", "video_id"}
    assert preds.shape == labels.shape == (len(records), 3862)
    assert result["metrics"]["gap"] == pytest.approx(M.gap(preds, labels, 20), abs=1e-6)
    assert result["metrics"]["hit_at_one"] == pytest.approx(M.hit_at_one(preds, labels), abs=1e-6)


def test_pushed_model_is_ready_for_tf_serving(run):
    """Warm-up requests of real eval records that replay through serving_default; the Kaggle
    MetaGraph stays out of the pushed model (it is in KaggleExport's .tgz)."""
    config, result = run
    pushed = result["pushed_dir"]
    outputs = warmup.replay(pushed)
    eval_ids = {_video_id(config, r) for r in _split_records(config, "eval")}
    assert [o["predictions"].shape[0] for o in outputs] == [1, 8]
    assert {v.decode() for o in outputs for v in o["video_id"]} <= eval_ids
    files = [os.path.relpath(os.path.join(d, f), pushed) for d, _, fs in os.walk(pushed)
             for f in fs]
    assert not [f for f in files if "inference_model" in f or "model_flags" in f]
    with tarfile.open(result["model_tgz"]) as tar:
        names = set(tar.getnames())
    assert {"inference_model.meta", "model_flags.json",
            "saved_model/assets.extra/tf_serving_warmup_requests"} <= names


def _video_id(config, record: bytes) -> str:
    if config.data.frame_features:
        return tf.train.SequenceExample.FromString(record).context.feature["id"].bytes_list \
            .value[0].decode()
    return tf.train.Example.FromString(record).features.feature["id"].bytes_list.value[0].decode()


def test_kaggle_csv_and_tgz(run, tmp_path):
    config, result = run
    rows = list(csv.reader(open(result["csv"])))
    test_ids = {_video_id(config, r) for r in _split_records(config, "test")}
    assert rows[0] == ["VideoId", "LabelConfidencePairs"]
    assert {r[0] for r in rows[1:]} == test_ids and len(rows) - 1 == len(test_ids) == result["csv_rows"]
    for _, pairs in rows[1:]:
        tokens = pairs.split()
        assert len(tokens) == 40 and [float(s) for s in tokens[1::2]] == sorted(
            [float(s) for s in tokens[1::2]], reverse=True)
    out = str(tmp_path / "from_tgz.csv")
    level = "frame" if config.data.frame_features else "video"
    assert main(["inference", "--input_model_tgz", result["model_tgz"], "--untar_model_dir",
                 str(tmp_path / "m"), "--output_file", out, "--input_data_pattern",
                 os.path.join(config.data.data_dir, level, "test*")]) == 0
    if not config.float16_tgz:
        assert sorted(open(out).read().splitlines()) == sorted(open(result["csv"]).read().splitlines())
        return
    # float16 weights: the same videos, every top-k score within 2e-3 of the float32 model's
    def scores(path):
        return {r[0]: [float(s) for s in r[1].split()[1::2]] for r in list(csv.reader(open(path)))[1:]}
    half, full = scores(out), scores(result["csv"])
    assert half.keys() == full.keys()
    for vid, values in full.items():
        assert half[vid] == pytest.approx(values, abs=2e-3)
    with tarfile.open(result["model_tgz"]) as tar:
        index = tar.extractfile("inference_model.index").read()
    assert b"float16/" in index  # the checkpoint holds the float16 variables


def _node_states(config) -> dict:
    store = metadata.open_store(config.resolved_metadata_path())
    return {node: state for node, state, _ in outcome.component_times(store)}


def _evaluator_inputs(config) -> dict:
    """{input key: artifact id} of the newest Evaluator execution."""
    store = metadata.open_store(config.resolved_metadata_path())
    types = {t.id: t.name for t in store.get_execution_types()}
    latest = max((e for e in store.get_executions() if types[e.type_id].endswith("Evaluator")),
                 key=lambda e: e.id)
    return {event.path.steps[0].key: event.artifact_id
            for event in store.get_events_by_execution_ids([latest.id])
            if event.type == event.INPUT}


UPSTREAM = ("ImportExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform")


def test_rerun_is_cached_model_change_retrains_high_threshold_blocks_push(run):
    config, first = run
    if config.data.frame_features:
        pytest.skip("cache and blessing behaviour is the same code path; checked on video level")
    assert {n for n, _, _ in first["components"]} >= {*UPSTREAM, "Trainer", "Evaluator", "Pusher"}
    pushes = len(os.listdir(config.resolved_serving_dir()))
    first_model = _evaluator_inputs(config)["model"]
    local_runner.run(config)
    states = _node_states(config)
    # Cached throughout: the baseline leaves out the model being evaluated, so the Evaluator
    # gets run 1's inputs (not the model itself as its own baseline) and nothing is pushed again.
    assert {n for n, state in states.items() if state != "CACHED"} == {
        "latest_blessed_model_resolver"}, states
    assert len(os.listdir(config.resolved_serving_dir())) == pushes
    # another model width: Trainer and downstream run again, everything upstream stays cached
    wider = config.replace(hparams={"dnn_hidden_size": 32})
    local_runner.run(wider)
    states = _node_states(wider)
    assert all(states[n] == "CACHED" for n in UPSTREAM), states
    assert states["Trainer"] == "COMPLETE" and states["Evaluator"] == "COMPLETE"
    assert _evaluator_inputs(wider)["baseline_model"] == first_model  # the last blessed one
    pushes_before = len(os.listdir(config.resolved_serving_dir()))
    strict = local_runner.run(config.replace(gap_threshold=1.0))
    assert not strict["blessed"] and not strict["pushed"]
    assert strict["csv"] is None and strict["model_tgz"] is None
    states = _node_states(config)  # the blessing gate is in the DAG: KaggleExport never ran
    assert "KaggleExport" not in states and states["RunReport"] == "COMPLETE", states
    assert len(os.listdir(config.resolved_serving_dir())) == pushes_before  # nothing new pushed


def test_failure_in_a_late_component_then_rerun_finishes_from_cache(run, tmp_path):
    config, _ = run
    if config.data.frame_features:
        pytest.skip("the same orchestration code path; checked on video level")
    blocked = tmp_path / "serving"
    blocked.write_text("a file where the Pusher needs a directory")
    failing = config.replace(serving_dir=str(blocked), hparams={"dnn_hidden_size": 48},
                             gap_change_tolerance=1.0)  # blessed even if worse than the last
    with pytest.raises(tf.errors.FailedPreconditionError, match=f"{blocked} is not a directory"):
        local_runner.run(failing)  # the Pusher's error, as raised inside the component
    states = _node_states(failing)
    assert states["Trainer"] == "COMPLETE" and states["Pusher"] == "FAILED", states
    blocked.unlink()
    result = local_runner.run(failing)
    states = _node_states(failing)
    assert all(states[n] == "CACHED" for n in (*UPSTREAM, "Trainer")), states
    assert states["Pusher"] == "COMPLETE" and result["pushed"]
    assert os.path.isdir(result["pushed_dir"])


def test_runs_lists_the_run_and_reports_render_offline(run, tmp_path, capsys, monkeypatch):
    config, result = run
    monkeypatch.chdir(tmp_path)  # another folder than the run's: the stored URIs are absolute
    gap = result["metrics"]["gap"]
    assert main(["runs", "--pipeline_root", config.pipeline_root]) == 0
    listing = capsys.readouterr().out
    assert f"{gap:.4f}" in listing and " ok" in listing
    assert max(len(line) for line in listing.splitlines()[:-1]) <= 120, listing
    first = listing.splitlines()[-2].split()[0]  # newest first: the fixture's run is last
    assert main(["runs", "show", first[:22], "--pipeline_root", config.pipeline_root]) == 0
    lineage = capsys.readouterr().out
    assert f"GAP {gap:.4f}" in lineage and "Trainer [" in lineage
    assert "-> Model:" in lineage and "<- Examples:" in lineage and "yt8m.RunReport" in lineage
    # the pipeline's own report artifact: label names from the configured vocabulary
    component_html = glob.glob(os.path.join(config.pipeline_root, "RunReport", "run_report", "*",
                                            "report.html"))
    page = open(min(component_html, key=lambda p: int(p.split(os.sep)[-2]))).read()
    assert "label-" in page and f"{gap:.4f}" in page
    # `yt8m report`: the newest run, with GAP history; without a vocabulary, ids
    out = tmp_path / "report.html"
    assert main(["report", first, "--pipeline_root", config.pipeline_root,
                 "--output", str(out)]) == 0
    page = out.read_text()
    assert page.count("src='data:image/png;base64,") >= 4 and f"{gap:.4f}" in page
    assert "<td>class " in page and "label-" not in page
    for remote in ("http://", "https://", "<script", "<link", "@import", "url("):
        assert remote not in page
