"""The seed's Kaggle contract: ``inference_model.{meta,index,data-00000-of-00001}``.

A TF1 MetaGraph with collections ``input_batch_raw`` ([None, 1152] or [None, max_frames, 1152]),
``num_frames`` (int32 [None]) and ``predictions`` ([None, 3862]), loadable with
``tf.compat.v1.train.import_meta_graph``. Building a Keras model inside a tf.Graph invalidates
eager models of the same process, so the export runs in a subprocess
(``python -m trainer_module.export.metagraph WEIGHTS.npz FLAGS.json OUT_PREFIX``).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def export_metagraph(model, model_flags: dict, out_prefix: str) -> None:
    """Writes ``out_prefix``.meta/.index/.data-00000-of-00001 for an eager model."""
    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "weights.npz")
        np.savez(weights, *model.get_weights())
        flags = os.path.join(tmp, "flags.json")
        with open(flags, "w") as f:
            json.dump(model_flags, f)
        env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        proc = subprocess.run([sys.executable, "-m", "trainer_module.export.metagraph", weights,
                               flags, out_prefix], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"MetaGraph export failed: {proc.stderr.strip()[-2000:]}")


def _export_in_graph(weights_file: str, flags_file: str, out_prefix: str) -> None:
    import tensorflow as tf

    from trainer_module import models
    from trainer_module.data import features as F
    from trainer_module.train import model_flags as MF

    flags = MF.ModelFlags.from_dict(json.load(open(flags_file)))
    spec = flags.feature_spec()
    data = np.load(weights_file)
    weights = [data[f"arr_{i}"] for i in range(len(data.files))]
    with tf.Graph().as_default() as graph:
        shape = [None, spec.max_frames, spec.dim] if spec.frame_level else [None, spec.dim]
        inputs = tf.compat.v1.placeholder(tf.float32, shape, name="input_batch_raw")
        num_frames = tf.compat.v1.placeholder(tf.int32, [None], name="num_frames")
        model = models.build_model(flags.model, spec, flags.hparams)
        preds = tf.identity(model({F.FEATURES: inputs, F.NUM_FRAMES: num_frames}, training=False),
                            name="predictions")
        for name, tensor in (("input_batch_raw", inputs), ("num_frames", num_frames),
                             ("predictions", preds)):
            graph.add_to_collection(name, tensor)
        with tf.compat.v1.Session(graph=graph) as sess, sess.as_default():
            sess.run(tf.compat.v1.global_variables_initializer())
            model.set_weights(weights)  # inside as_default: into this session, not a hidden one
            saver = tf.compat.v1.train.Saver(var_list=model.weights)
            saver.save(sess, out_prefix, write_meta_graph=True, write_state=False)


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    _export_in_graph(*sys.argv[1:4])
