"""TF Serving warm-up requests: ``assets.extra/tf_serving_warmup_requests`` in a SavedModel.

TF Serving replays this TFRecord file of ``PredictionLog`` protos when it loads a model version,
before the version serves traffic, so the first real requests do not pay for the graph's lazy
initialisation (https://www.tensorflow.org/tfx/serving/saved_model_warmup; at most 1,000
records). Each request is a ``PredictRequest`` to ``serving_default`` whose ``examples`` input
holds real serialized records (the eval split's), one per batch size.
"""
from __future__ import annotations

import os

import tensorflow as tf

from trainer_module.export import saved_model as export

ASSETS_EXTRA = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
BATCH_SIZES = (1, 8)


def warmup_path(saved_model_dir: str) -> str:
    return os.path.join(saved_model_dir, ASSETS_EXTRA, WARMUP_FILE)


def read_records(files: list[str], count: int, compression: str | None = None) -> list[bytes]:
    """The first ``count`` serialized records of ``files`` (fewer if they hold fewer)."""
    dataset = tf.data.TFRecordDataset(files, compression_type=compression).take(count)
    return [r.numpy() for r in dataset]


def write(saved_model_dir: str, records: list[bytes],
          batch_sizes: tuple[int, ...] = BATCH_SIZES) -> int:
    """Writes one PredictRequest per batch size (as many records as there are, at most the
    size); returns the number of requests. No records: no file, 0."""
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    sizes = sorted({min(size, len(records)) for size in batch_sizes if records})
    if not sizes:
        return 0
    path = warmup_path(saved_model_dir)
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.TFRecordWriter(path) as writer:
        for size in sizes:
            request = predict_pb2.PredictRequest()
            request.model_spec.signature_name = export.SIGNATURE
            request.inputs[export.EXAMPLES_INPUT].CopyFrom(
                tf.make_tensor_proto(records[:size], dtype=tf.string))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return len(sizes)


def read(saved_model_dir: str) -> list:
    """The ``PredictRequest`` protos of a model's warm-up file (TF Serving's view of it)."""
    from tensorflow_serving.apis import prediction_log_pb2

    requests = []
    for raw in tf.data.TFRecordDataset([warmup_path(saved_model_dir)]):
        log = prediction_log_pb2.PredictionLog.FromString(raw.numpy())
        requests.append(log.predict_log.request)
    return requests


def replay(saved_model_dir: str) -> list[dict]:
    """Every warm-up request through the model's ``serving_default`` (as TF Serving does when it
    loads the version): a list of output dicts of numpy arrays, one per request.

    Raises:
      ValueError: a request for another signature or with other inputs than ``examples``.
    """
    serve = tf.saved_model.load(saved_model_dir).signatures[export.SIGNATURE]
    out = []
    for request in read(saved_model_dir):
        if (request.model_spec.signature_name != export.SIGNATURE
                or set(request.inputs) != {export.EXAMPLES_INPUT}):
            raise ValueError(f"{warmup_path(saved_model_dir)}: a request for signature "
                             f"{request.model_spec.signature_name!r} with inputs "
                             f"{sorted(request.inputs)}; expected {export.SIGNATURE!r} with "
                             f"{export.EXAMPLES_INPUT!r}")
        examples = tf.constant(tf.make_ndarray(request.inputs[export.EXAMPLES_INPUT]))
        out.append({k: v.numpy() for k, v in serve(examples=examples).items()})
    return out
