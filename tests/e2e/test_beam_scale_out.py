"""The pipeline's Beam stages on parallel worker processes (``beam_workers``) and through a
portable runner (local job service, external worker pool that sees the project only as an
installed package) give the outputs of the in-process run on the same data."""
import hashlib
import os
import tarfile

import numpy as np
import pytest
from google.protobuf import json_format
from tensorflow_metadata.proto.v0 import statistics_pb2

from pipeline import local_runner, metadata, outcome, runs
from pipeline.config import PipelineConfig
from tests.e2e import beam_services
from trainer_module import beam_trace
from trainer_module.data import synthetic as synthetic_data

pytestmark = pytest.mark.e2e
TRACED = ("ImportExampleGen", "Evaluator", "KaggleExport")


@pytest.fixture(scope="module")
def runs_by_mode(tmp_path_factory):
    """One pipeline run per mode on the same data: in process, 2 workers, portable runner."""
    base = tmp_path_factory.mktemp("beam_scale_out")
    data = str(base / "data")
    synthetic_data.generate(synthetic_data.GeneratorConfig(
        output_dir=data, num_videos=160, num_shards=4, seed=3, signal=2.0, label_classes=20),
        progress=False)
    config = PipelineConfig.of(data_dir=data, pipeline_root=str(base / "in_process"), batch_size=16,
                            num_epochs=2, min_steps=0, hparams={"dnn_hidden_size": 32})
    out = {}

    def run(mode, cfg, trace):
        os.environ[beam_trace.ENV] = trace
        try:
            out[mode] = (cfg, local_runner.run(cfg, log=lambda *_: None), beam_trace.read(trace))
        finally:
            del os.environ[beam_trace.ENV]

    run("in_process", config, str(base / "trace_in_process"))
    run("workers", config.replace(pipeline_root=str(base / "workers"), beam_workers=2),
        str(base / "trace_workers"))
    installed = beam_services.installed_project(str(base / "installed"))
    installed["env"][beam_trace.ENV] = str(base / "trace_portable")
    with beam_services.portable_runner(installed, str(base)) as beam_args:
        run("portable", config.replace(pipeline_root=str(base / "portable"), beam_args=beam_args),
            str(base / "trace_portable"))
    out["site"] = installed["site"]
    return out


def _files(uri: str) -> dict:
    """{relative path: md5} of every file under an artifact URI."""
    out = {}
    for folder, _, names in os.walk(uri):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, uri)] = hashlib.md5(f.read()).hexdigest()
    return out


def _statistics(uri: str) -> dict:
    """Per split, the statistics as a dict without what comes from TFDV's quantiles sketch
    (median, histogram bucket bounds and counts: approximate, and their merge depends on how
    the data was split); each histogram's total count is kept."""
    def strip(node):
        if isinstance(node, dict):
            node.pop("median", None)
            for h in node.get("histograms", []):
                h["total"] = round(sum(b.get("sampleCount", 0) for b in h.pop("buckets", [])), 6)
            return {k: strip(v) for k, v in node.items()}
        return [strip(v) for v in node] if isinstance(node, list) else node

    out = {}
    for split in ("train", "eval", "test"):
        stats = statistics_pb2.DatasetFeatureStatisticsList()
        with open(os.path.join(uri, f"Split-{split}", "FeatureStats.pb"), "rb") as f:
            stats.ParseFromString(f.read())
        out[split] = strip(json_format.MessageToDict(stats))
    return out


def _transformed(transform_uri: str, examples_uri: str) -> dict:
    """The Transform graph applied to the eval split (its saved_model.pb holds function names
    numbered by the process that traced it, so the bytes are not compared)."""
    import tensorflow as tf
    import tensorflow_transform as tft

    output = tft.TFTransformOutput(transform_uri)
    files = sorted(tf.io.gfile.glob(os.path.join(examples_uri, "Split-eval", "*")))
    records = list(tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator())
    raw = tf.io.parse_example(records, output.raw_feature_spec())
    out = {k: v.numpy() for k, v in output.transform_raw_features(raw).items()}
    return {"metadata": _files(os.path.join(transform_uri, "transformed_metadata")),
            **{k: (v.dtype.str, v.shape, v.tolist() if v.dtype == object
                   else hashlib.md5(v.tobytes()).hexdigest()) for k, v in out.items()}}


# Graph definitions hold op and function names numbered by the process that built them (the
# Trainer shares the test's process); the weights, assets and flags beside them are compared.
GRAPH_FILES = ("saved_model.pb", "fingerprint.pb", "inference_model.meta")


def _without_graphs(files: dict) -> dict:
    return {k: v for k, v in files.items() if os.path.basename(k) not in GRAPH_FILES}


def _outputs(cfg, result) -> dict:
    store = metadata.open_store(cfg.resolved_metadata_path())
    artifacts = runs.summarize(store, outcome.run_contexts(store)[0]).artifacts
    with tarfile.open(result["model_tgz"]) as tar:
        archive = {m.name: hashlib.md5(tar.extractfile(m).read()).hexdigest()
                   for m in tar.getmembers() if m.isfile()}
    assert set(GRAPH_FILES) <= {os.path.basename(k) for k in archive}
    with open(result["csv"], encoding="utf-8") as f:
        rows = sorted(f.read().splitlines())  # rows come in bundle order
    return {"examples": _files(artifacts["Examples"]),
            "statistics": _statistics(artifacts["ExampleStatistics"]),
            "schema": _files(artifacts["Schema"]),
            "transform": _transformed(artifacts["TransformGraph"], artifacts["Examples"]),
            "model": _without_graphs(_files(os.path.join(artifacts["Model"], "Format-Serving"))),
            "metrics": result["metrics"], "blessed": result["blessed"], "csv": rows,
            "archive": _without_graphs(archive),
            "report": _files(artifacts["yt8m.RunReport"])["report_data.npz"]}


def _assert_same(got: dict, want: dict) -> None:
    for key in want:
        if key == "metrics":
            assert got[key].keys() == want[key].keys()
            for name, value in want[key].items():
                assert got[key][name] == pytest.approx(value, abs=1e-6), name
        elif key == "statistics":
            _assert_close(got[key], want[key], key)
        else:
            assert got[key] == want[key], key


def _assert_close(got, want, path):
    if isinstance(want, dict):
        assert got.keys() == want.keys(), path
        for k in want:
            _assert_close(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want)):
            _assert_close(g, w, f"{path}[{i}]")
    elif isinstance(want, float):
        assert np.isclose(got, want, rtol=1e-6, atol=1e-9), (path, got, want)
    else:
        assert got == want, path


def test_two_worker_processes_give_the_in_process_outputs(runs_by_mode):
    cfg, result, trace = runs_by_mode["workers"]
    assert result["csv"] and result["model_tgz"] and result["blessed"]
    _assert_same(_outputs(cfg, result), _outputs(*runs_by_mode["in_process"][:2]))
    for stage in TRACED:  # every traced stage ran on two worker processes, not in the driver
        assert len(trace[stage]) == 2 and os.getpid() not in trace[stage], (stage, trace)
    in_process = runs_by_mode["in_process"][2]
    assert all(set(in_process[stage]) == {os.getpid()} for stage in TRACED), in_process


def test_portable_runner_gives_the_in_process_outputs(runs_by_mode):
    cfg, result, trace = runs_by_mode["portable"]
    _assert_same(_outputs(cfg, result), _outputs(*runs_by_mode["in_process"][:2]))
    for stage in TRACED:  # in the worker pool's processes, with the installed copy's code
        assert trace[stage] and os.getpid() not in trace[stage], (stage, trace)
        assert set(trace[stage].values()) == {runs_by_mode["site"]}, trace[stage]
