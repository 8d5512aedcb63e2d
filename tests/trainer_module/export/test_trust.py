"""A model is a program: every model the project exports, and the dataset's networks, pass the op
check; file, Python and checkpoint-writing ops in a model's own functions are refused."""
import os

import pytest
import tensorflow as tf

from tests.trainer_module.ingest import media
from tests.trainer_module.models.test_models import _tiny
from trainer_module import models
from trainer_module.data import features as F
from trainer_module.export import float16
from trainer_module.export import saved_model as export
from trainer_module.export import trust


@pytest.mark.parametrize("name", sorted(models.REGISTRY))
def test_every_project_export_passes(tmp_path, name):
    frame = models.get(name).frame_level
    spec = F.FeatureSpec.default(frame, 4) if frame else F.FeatureSpec.default()
    model = models.build_model(name, spec, _tiny(name))
    saved = export.export_saved_model(model, str(tmp_path / "m"), export.default_preprocess(spec))
    trust.check_saved_model(saved, "train_dir")
    if name in ("GatedDnnModel", "LstmModel"):  # the float16 rewrite's ops, on both levels
        float16.halve_saved_model(saved, str(tmp_path / "half"))
        trust.check_saved_model(str(tmp_path / "half"), "input_model_tgz")


@pytest.mark.parametrize("name", ["FrameLevelLogisticModel", "DbofModel"])
def test_segment_model_exports_pass(tmp_path, name):
    """A segment model's export (whole records cut into segments, a video by its best one)."""
    spec = F.FeatureSpec.default(True, 5)
    model = models.build_model(name, spec, _tiny(name))
    saved = export.export_saved_model(model, str(tmp_path / "m"), export.segment_preprocess(spec),
                                      segments=True)
    trust.check_saved_model(saved, "train_dir")


def test_the_dataset_network_layouts_pass(tmp_path):
    graph = tf.compat.v1.GraphDef()
    path = media.tiny_inception_graph(str(tmp_path / "g.pb"))
    with open(path, "rb") as f:
        graph.ParseFromString(f.read())
    trust.check_graph_def(graph, path, "inception_weights")
    trust.check_saved_model(media.tiny_audio_model(str(tmp_path / "audio")), "audio_model")
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:  # a TF1 SavedModel (saver nodes)
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        v = tf.compat.v1.get_variable("v", [], initializer=tf.compat.v1.ones_initializer())
        sess.run(tf.compat.v1.global_variables_initializer())
        builder = tf.compat.v1.saved_model.Builder(str(tmp_path / "tf1"))
        builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={
            "serving_default": tf.compat.v1.saved_model.predict_signature_def(
                {"x": x}, {"y": tf.identity(x * v)})})
        builder.save()
    trust.check_saved_model(str(tmp_path / "tf1"), "audio_model")


def evil_saved_model(folder: str, kind: str) -> str:
    """A SavedModel whose serving function reads or writes files, runs Python, or writes a
    checkpoint; calling it would act on ``folder``'s ``pwned`` file."""
    target = os.path.join(os.path.dirname(folder), "pwned")

    class Evil(tf.Module):
        def __init__(self):
            super().__init__()
            self.v = tf.Variable([1.0])

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def serve(self, examples):
            if kind == "files":
                tf.io.write_file(target, "x")
                return {"video_id": examples + tf.io.read_file("/etc/hostname")}
            if kind == "python":
                return {"video_id": tf.py_function(lambda e: e, [examples], tf.string)}
            tf.raw_ops.SaveV2(prefix=target, tensor_names=["v"], shape_and_slices=[""],
                              tensors=[self.v])
            return {"video_id": examples}

    module = Evil()
    tf.saved_model.save(module, folder, signatures={"serving_default": module.serve})
    return folder


@pytest.mark.parametrize("kind, op", [("files", "ReadFile"), ("python", "EagerPyFunc"),
                                      ("checkpoint", "SaveV2")])
def test_a_model_that_reaches_files_or_python_is_refused(tmp_path, kind, op):
    saved = evil_saved_model(str(tmp_path / "evil"), kind)
    with pytest.raises(trust.UntrustedModel, match=f"`input_model_tgz`: {saved} holds the op "
                                                   f"{op}.*set `trust_model`"):
        trust.check_saved_model(saved, "input_model_tgz")
    assert not (tmp_path / "pwned").exists()


def test_a_graph_that_writes_a_file_is_refused(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        contents = tf.compat.v1.placeholder(tf.string, [], name="DecodeJpeg/contents")
        tf.io.write_file(str(tmp_path / "pwned"), contents)
    with pytest.raises(trust.UntrustedModel, match="`inception_weights`: g.pb holds the op "
                                                   "WriteFile"):
        trust.check_graph_def(graph.as_graph_def(), "g.pb", "inception_weights")
