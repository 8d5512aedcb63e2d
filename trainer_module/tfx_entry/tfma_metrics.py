"""YT8M metrics for TFMA (the Evaluator): exact GAP@k, Hit@1, PERR and mAP from one combiner.

Referenced from the EvalConfig as ``MetricConfig(class_name='YT8MMetrics',
module='trainer_module.tfx_entry.tfma_metrics', config='{"top_k": 20}')``. The Beam CombineFn folds every
example's 3862 scores into ``metrics.MetricsAccumulator`` (only the top-k pairs are kept), so the
result is the NumPy core's, exactly, and a 3862-class multi-hot label yields 4 metric keys instead
of thousands of per-class ones.
"""
from __future__ import annotations

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util

from trainer_module import beam_trace
from trainer_module.data import features as F
from trainer_module.evaluation import metrics as M

GAP = "gap"
METRIC_NAMES = ("gap", "hit_at_one", "perr", "map")
# Rows buffered before their top-k pairs are taken. TFMA combines every slice with a hot-key
# fanout of 8, so 8 accumulators buffer at once: 64 rows x 3862 x 5 bytes x 8 is ~10 MB whatever
# the split size.
_FLUSH_ROWS = 64


class BufferingCombiner(beam.CombineFn):
    """A CombineFn whose accumulator buffers inputs and folds them in with ``_flush`` (one NumPy
    pass per buffer); merging flushes every accumulator and folds each into the first with
    ``_merge``."""

    def _flush(self, state):
        raise NotImplementedError

    def _merge(self, merged, other) -> None:
        raise NotImplementedError

    def merge_accumulators(self, states):
        states = [self._flush(s) for s in states]
        merged = states[0]
        for s in states[1:]:
            self._merge(merged, s)
        return merged

    def compact(self, state):
        return self._flush(state)


class _Combiner(BufferingCombiner):
    """Beam CombineFn over StandardMetricInputs -> {key: value} for the four metrics."""

    def __init__(self, keys: dict, eval_config, model_name: str, output_name: str, top_k: int):
        self._keys, self._eval_config = keys, eval_config
        self._model_name, self._output_name, self._top_k = model_name, output_name, top_k

    def create_accumulator(self):
        return {"acc": M.MetricsAccumulator(F.NUM_CLASSES, self._top_k), "preds": [], "labels": []}

    def _flush(self, state):
        if state["preds"]:
            state["acc"].add(np.stack(state["preds"]), np.stack(state["labels"]))
            state["preds"], state["labels"] = [], []
        return state

    def add_input(self, state, element):
        beam_trace.note("Evaluator")
        for label, prediction, _ in metric_util.to_label_prediction_example_weight(
                element, eval_config=self._eval_config, model_name=self._model_name,
                output_name=self._output_name, flatten=False, squeeze=False):
            state["preds"].append(np.asarray(prediction, np.float32).reshape(-1))
            state["labels"].append(np.asarray(label).reshape(-1) > 0)  # metrics only test > 0
        if len(state["preds"]) >= _FLUSH_ROWS:
            self._flush(state)
        return state

    def _merge(self, merged, other) -> None:
        merged["acc"].merge(other["acc"])

    def extract_output(self, state):
        result = self._flush(state)["acc"].result()
        return {key: result[name] for name, key in self._keys.items()}


def _computations(top_k: int = M.DEFAULT_TOP_K, name: str = "yt8m", eval_config=None,
                  model_names=None, output_names=None, sub_keys=None, example_weighted=False,
                  **_unused):
    computations = []
    for model_name in model_names or [""]:
        for output_name in output_names or [""]:
            keys = {m: metric_types.MetricKey(name=m,
                                              model_name=model_name, output_name=output_name,
                                              # None matches the keys TFMA gives thresholds
                                              example_weighted=example_weighted or None)
                    for m in METRIC_NAMES}
            computations.append(metric_types.MetricComputation(
                keys=list(keys.values()), preprocessors=None,
                combiner=_Combiner(keys, eval_config, model_name, output_name, top_k)))
    return computations


class YT8MMetrics(metric_types.Metric):
    """GAP@top_k, Hit@1, PERR and mAP as TFMA metrics (keys gap, hit_at_one, perr, map)."""

    def __init__(self, top_k: int = M.DEFAULT_TOP_K, name: str = "yt8m"):
        super().__init__(_computations, top_k=top_k, name=name)

    def get_config(self):
        return {"top_k": self.kwargs["top_k"], "name": self.kwargs["name"]}
