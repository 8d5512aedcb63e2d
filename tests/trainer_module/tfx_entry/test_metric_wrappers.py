"""The TFMA metric (inside a real TFMA run) and its Beam CombineFn agree with the NumPy core."""
import json
import random

import apache_beam as beam
import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from apache_beam.testing.util import assert_that
from tensorflow_model_analysis.metrics import metric_types

from trainer_module.data import features as F
from trainer_module.evaluation import metrics as M
from trainer_module.tfx_entry import tfma_metrics


def _data(n, seed, classes=F.NUM_CLASSES):
    """Predictions that carry signal: positives score higher on average; ~3 labels per video."""
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, classes)) < 3.0 / classes).astype(np.int64)  # [n, C]
    logits = rng.normal(-6.0, 1.5, (n, classes)) + 6.0 * labels
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32), labels


def _inputs(preds, labels):
    return [metric_types.StandardMetricInputs(labels=y, predictions=p, example_weights=None)
            for p, y in zip(preds, labels)]


def test_tfma_combiner_merge_order_invariant_and_exact():
    preds, labels = _data(300, 1)
    computation = tfma_metrics.YT8MMetrics(top_k=20).computations(
        eval_config=tfma.EvalConfig(), model_names=[""], output_names=[""])[0]
    combiner = computation.combiner
    inputs = _inputs(preds, labels)
    expected = M.MetricsAccumulator(F.NUM_CLASSES, 20)
    expected.add(preds, labels)
    expected = expected.result()
    results = []
    for seed in range(3):
        random.Random(seed).shuffle(inputs)
        parts = []
        for chunk in np.array_split(np.arange(len(inputs)), 4 + seed):
            state = combiner.create_accumulator()
            for i in chunk:
                state = combiner.add_input(state, inputs[i])
            parts.append(state)
        random.Random(seed + 10).shuffle(parts)
        out = combiner.extract_output(combiner.merge_accumulators(parts))
        results.append({key.name: value for key, value in out.items()})
    for got in results:
        for name in tfma_metrics.METRIC_NAMES:
            assert got[name] == pytest.approx(expected[name], abs=1e-9), name


def test_tfma_combiner_buffers_a_bounded_number_of_compact_rows():
    """TFMA runs 8 accumulators per slice (hot-key fanout): each may hold only a few rows of
    dense scores, labels as booleans, whatever the number of videos added."""
    preds, labels = _data(300, 3)
    combiner = tfma_metrics.YT8MMetrics(top_k=20).computations(
        eval_config=tfma.EvalConfig(), model_names=[""], output_names=[""])[0].combiner
    state = combiner.create_accumulator()
    most = 0
    for item in _inputs(preds, labels):
        state = combiner.add_input(state, item)
        most = max(most, len(state["preds"]))
        assert all(row.dtype == bool for row in state["labels"])
    assert most < tfma_metrics._FLUSH_ROWS <= 64
    assert state["acc"].num_videos + len(state["preds"]) == 300
    got = {key.name: value for key, value in combiner.extract_output(state).items()}
    assert got["gap"] == pytest.approx(M.gap(preds, labels, 20), abs=1e-9)  # buffered rows count


def test_tfma_combiner_in_a_beam_pipeline():
    preds, labels = _data(120, 2)
    computation = tfma_metrics.YT8MMetrics(top_k=20).computations(
        eval_config=tfma.EvalConfig(), model_names=[""], output_names=[""])[0]
    expected_gap = M.gap(preds, labels, 20)

    def check(outputs):
        (out,) = outputs
        got = {key.name: value for key, value in out.items()}
        assert got["gap"] == pytest.approx(expected_gap, abs=1e-9)

    with beam.Pipeline() as p:
        result = (p | beam.Create(_inputs(preds, labels), reshuffle=True)
                  | beam.CombineGlobally(computation.combiner))
        assert_that(result, check)


def test_tfma_combiner_across_worker_processes(tmp_path, monkeypatch):
    """The combiner pickled to two DirectRunner worker processes, each adding part of the
    inputs, its partial accumulators merged in a third step: still the exact metrics."""
    import os

    from apache_beam.options.pipeline_options import PipelineOptions

    from trainer_module import beam_trace

    preds, labels = _data(200, 4)
    computation = tfma_metrics.YT8MMetrics(top_k=20).computations(
        eval_config=tfma.EvalConfig(), model_names=[""], output_names=[""])[0]
    expected = M.MetricsAccumulator(F.NUM_CLASSES, 20)
    expected.add(preds, labels)
    expected = expected.result()
    monkeypatch.setenv(beam_trace.ENV, str(tmp_path / "trace"))  # inherited by the workers

    def check(outputs):
        (out,) = outputs
        got = {key.name: value for key, value in out.items()}
        for name in tfma_metrics.METRIC_NAMES:
            assert got[name] == pytest.approx(expected[name], abs=1e-9), name

    options = PipelineOptions(direct_running_mode="multi_processing", direct_num_workers=2)
    with beam.Pipeline(options=options) as p:
        result = (p | beam.Create(_inputs(preds, labels), reshuffle=True)
                  | beam.CombineGlobally(computation.combiner))
        assert_that(result, check)
    pids = set(beam_trace.read(str(tmp_path / "trace"))["Evaluator"])
    assert len(pids) == 2 and os.getpid() not in pids  # both workers added inputs, the driver none


def test_real_tfma_run_matches_numpy(tmp_path):
    """tfma.analyze_raw_data: the metric as it is configured in an EvalConfig."""
    import pandas as pd

    preds, labels = _data(200, 3)
    frame = pd.DataFrame({"label": list(labels), "prediction": list(preds)})
    eval_config = tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(label_key="label", prediction_key="prediction")],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="YT8MMetrics",
                              module="trainer_module.tfx_entry.tfma_metrics",
                              config=json.dumps({"top_k": 20}))])])
    result = tfma.analyze_raw_data(frame, eval_config, output_path=str(tmp_path))
    (_, metrics), = result.slicing_metrics
    values = {k: v["doubleValue"] for k, v in metrics[""][""].items()}
    core = M.MetricsAccumulator(F.NUM_CLASSES, 20)
    core.add(preds, labels)
    core = core.result()
    assert set(values) == {"gap", "hit_at_one", "perr", "map"}
    for name in ("gap", "hit_at_one", "perr", "map"):
        assert values[name] == pytest.approx(core[name], abs=1e-9), name
