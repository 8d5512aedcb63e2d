"""TF Serving warm-up requests: written from real records, read back as TF Serving reads them,
and every one replays through the SavedModel's ``serving_default``."""
import glob
import os

import tensorflow as tf

from trainer_module import models
from trainer_module.data import features as F
from trainer_module.export import float16
from trainer_module.export import saved_model as export
from trainer_module.export import warmup


def test_warmup_requests_replay_through_the_serving_signature(tmp_path, tiny_data):
    spec = F.FeatureSpec.default()
    model = models.build_model("LogisticModel", spec, {})
    saved = export.export_saved_model(model, str(tmp_path / "model"),
                                      export.default_preprocess(spec))
    files = sorted(glob.glob(os.path.join(tiny_data, "video", "validate*.tfrecord")))
    records = warmup.read_records(files, 8)
    assert warmup.write(saved, records) == 2
    assert os.path.isfile(os.path.join(saved, "assets.extra", "tf_serving_warmup_requests"))
    outputs = warmup.replay(saved)
    assert [o["predictions"].shape for o in outputs] == [(1, F.NUM_CLASSES), (8, F.NUM_CLASSES)]
    ids = [tf.train.Example.FromString(r).features.feature["id"].bytes_list.value[0]
           for r in records]
    assert list(outputs[1]["video_id"]) == ids  # the real records, in order
    half = str(tmp_path / "half")  # the float16 copy of model.tgz keeps them, and they replay
    float16.halve_saved_model(saved, half)
    assert [o["predictions"].shape for o in warmup.replay(half)] == [(1, F.NUM_CLASSES),
                                                                      (8, F.NUM_CLASSES)]


def test_fewer_records_than_a_batch_and_none(tmp_path, tiny_data):
    files = sorted(glob.glob(os.path.join(tiny_data, "video", "validate*.tfrecord")))
    records = warmup.read_records(files, 3)
    assert warmup.write(str(tmp_path / "a"), records, batch_sizes=(1, 8)) == 2
    assert [len(tf.make_ndarray(r.inputs["examples"])) for r in warmup.read(
        str(tmp_path / "a"))] == [1, 3]
    assert warmup.write(str(tmp_path / "b"), []) == 0
    assert not (tmp_path / "b").exists()
