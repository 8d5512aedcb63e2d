"""A float16 copy of an exported model: weights stored in half the bytes, computed in float32.

The 2018 winners fit the 1 GB Kaggle limit by storing weights as float16. ``halve(src, dst)``
rewrites an export folder (``saved_model/`` + ``inference_model.*`` + ``model_flags.json``):

  * each graph is frozen (variables become constants), every float32 constant of at least
    ``MIN_BYTES`` becomes a float16 variable read through a Cast to float32, and the graph is
    imported again around those reads, so every op still computes in float32 and only the
    stored weights lose precision (float16: ~3 significant digits);
  * ``saved_model/`` keeps the ``serving_default`` signature (same inputs and outputs) and its
    ``assets.extra/`` (TF Serving's warm-up requests);
  * ``inference_model.*`` keeps the seed's collections ``input_batch_raw``, ``num_frames``,
    ``predictions``; its checkpoint holds float16 variables under ``float16/``.

Other files (``model_flags.json``, ``ensemble.json``) are copied as they are. Freezing goes
through one GraphDef protobuf, so the float32 weights must stay under protobuf's 2 GB (float16
halves a 1-2 GB export below the Kaggle limit), and memory holds about three copies of them.
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import convert_to_constants

from trainer_module.export import saved_model as export
from trainer_module.export import warmup

MIN_BYTES = 1024  # smaller float32 constants (BN epsilons, scalars) stay as they are
METAGRAPH = "inference_model"
COLLECTIONS = ("input_batch_raw", "num_frames", "predictions")


def _to_placeholders(graph_def, min_bytes: int = MIN_BYTES) -> dict:
    """Turns float32 constants of >= min_bytes into placeholders (in place); returns their values
    {node name: ndarray}."""
    values = {}
    for node in graph_def.node:
        tensor = node.attr["value"].tensor if node.op == "Const" else None
        if (tensor is None or tensor.dtype != tf.float32.as_datatype_enum
                or len(tensor.tensor_content) < min_bytes):
            continue
        values[node.name] = tf.make_ndarray(tensor)
        shape = tensor.tensor_shape
        node.op = "Placeholder"
        node.ClearField("attr")
        node.attr["dtype"].type = tf.float32.as_datatype_enum
        node.attr["shape"].shape.CopyFrom(shape)
    return values


class _HalfServing(tf.Module):
    """serving_default over a frozen graph whose weights are float16 variables."""

    def __init__(self, graph_def, values: dict, input_name: str, outputs: dict):
        super().__init__()
        names = sorted(values)
        self.weights = [tf.Variable(values[n].astype(np.float16), trainable=False,
                                    name=f"float16/{n}") for n in names]
        self._keys = sorted(outputs)

        def imported(examples):
            input_map = {input_name: examples}
            input_map.update({f"{n}:0": tf.cast(w, tf.float32) for n, w in zip(names, self.weights)})
            return tf.graph_util.import_graph_def(
                graph_def, input_map=input_map, return_elements=[outputs[k] for k in self._keys],
                name="")

        self._graph = tf.compat.v1.wrap_function(
            imported, [export.EXAMPLES_SPEC])

    @tf.function(input_signature=[export.EXAMPLES_SPEC])
    def serve(self, examples):
        return dict(zip(self._keys, self._graph(examples)))


def halve_saved_model(src: str, dst: str) -> None:
    """Writes a float16-weight copy of the SavedModel at src (its serving_default) to dst."""
    loaded = tf.saved_model.load(src)  # held: its variables live as long as it does
    fn = loaded.signatures[export.SIGNATURE]
    # Aggressive inlining also inlines the Transform layer's stateful call (grappler leaves it a
    # specialized library function, which the SavedModel loader refuses).
    frozen = convert_to_constants.convert_variables_to_constants_v2(fn, aggressive_inlining=True)
    graph_def = frozen.graph.as_graph_def()
    values = _to_placeholders(graph_def)
    outputs = {k: t.name for k, t in zip(sorted(fn.structured_outputs), frozen.outputs)}
    module = _HalfServing(graph_def, values, frozen.inputs[0].name, outputs)
    tf.saved_model.save(module, dst, signatures={export.SIGNATURE: module.serve.get_concrete_function()})
    extra = os.path.join(src, warmup.ASSETS_EXTRA)  # TF Serving's warm-up requests: the same
    if os.path.isdir(extra):  # signature takes them
        shutil.copytree(extra, os.path.join(dst, warmup.ASSETS_EXTRA), dirs_exist_ok=True)


def halve_metagraph(src_prefix: str, dst_prefix: str) -> None:
    """Writes a float16-weight copy of the seed's MetaGraph + checkpoint at src_prefix."""
    with tf.Graph().as_default() as graph, tf.compat.v1.Session() as sess:
        tf.compat.v1.train.import_meta_graph(src_prefix + ".meta").restore(sess, src_prefix)
        tensors = {c: graph.get_collection(c)[0].name for c in COLLECTIONS}
        graph_def = convert_to_constants.convert_variables_to_constants_from_session_graph(
            sess, graph.as_graph_def(), [t.split(":")[0] for t in tensors.values()])
    values = _to_placeholders(graph_def)
    with tf.Graph().as_default() as graph, tf.compat.v1.Session() as sess:
        names = sorted(values)
        weights = [tf.compat.v1.get_variable(f"float16/{n}", values[n].shape, tf.float16,
                                             initializer=tf.compat.v1.zeros_initializer())
                   for n in names]
        tf.compat.v1.import_graph_def(
            graph_def, input_map={f"{n}:0": tf.cast(w, tf.float32) for n, w in zip(names, weights)},
            name="")
        for c, name in tensors.items():
            graph.add_to_collection(c, graph.get_tensor_by_name(name))
        for n, w in zip(names, weights):  # fed to the initializer: no weight enters the graph
            sess.run(w.initializer, {w.initializer.inputs[1]: values[n].astype(np.float16)})
        tf.compat.v1.train.Saver(var_list=weights).save(sess, dst_prefix, write_meta_graph=True,
                                                        write_state=False)


def halve(src_dir: str, dst_dir: str) -> str:
    """Float16 copy of an export folder (see the module docstring); returns dst_dir."""
    os.makedirs(dst_dir, exist_ok=True)
    for name in sorted(os.listdir(src_dir)):
        path = os.path.join(src_dir, name)
        if name == "saved_model":
            halve_saved_model(path, os.path.join(dst_dir, name))
        elif name == METAGRAPH + ".meta":
            halve_metagraph(os.path.join(src_dir, METAGRAPH), os.path.join(dst_dir, METAGRAPH))
        elif not name.startswith(METAGRAPH + ".") and os.path.isfile(path):
            tf.io.gfile.copy(path, os.path.join(dst_dir, name), overwrite=True)
    return dst_dir
