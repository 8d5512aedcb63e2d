"""KaggleExport helpers: rows written per bundle are merged into one CSV, and the model archive
is built from local or remote (here TensorFlow's ram:// filesystem, as gs:// on Vertex) paths."""
import os
import tarfile

import apache_beam as beam
import pytest
import tensorflow as tf

from components.kaggle_export import export_lib
from trainer_module.export import kaggle_csv
from trainer_module.export import saved_model
from trainer_module.train import model_flags as MF


@pytest.mark.parametrize("remote", [False, True])
def test_merge_csv_joins_every_shard_under_one_header(tmp_path, remote):
    base = f"ram://merge{os.getpid()}" if remote else str(tmp_path)
    tf.io.gfile.makedirs(base)
    prefix = os.path.join(base, "rows")
    shards = {"rows-00000-of-00002.csv": "a,1 0.5\nb,2 0.4\n", "rows-00001-of-00002.csv": "c,3 0.3\n"}
    for name, text in shards.items():
        with tf.io.gfile.GFile(os.path.join(base, name), "w") as f:
            f.write(text)
    out = os.path.join(base, "predictions.csv")
    assert export_lib.merge_csv(prefix, out) == 3
    with tf.io.gfile.GFile(out) as f:
        assert f.read() == kaggle_csv.CSV_HEADER + "a,1 0.5\nb,2 0.4\nc,3 0.3\n"
    assert tf.io.gfile.listdir(base) == ["predictions.csv"]  # shards and the temporary name gone


def test_beam_rows_reach_the_merged_csv_once(tmp_path):
    """The Beam write (no fixed shard count, so no grouping stage) feeds merge_csv."""
    prefix = str(tmp_path / "rows")
    rows = [f"v{i},{i} 0.5" for i in range(500)]
    with beam.Pipeline() as p:
        _ = p | beam.Create(rows) | beam.io.WriteToText(prefix, file_name_suffix=".csv")
    out = str(tmp_path / "predictions.csv")
    assert export_lib.merge_csv(prefix, out) == 500
    lines = open(out).read().splitlines()
    assert lines[0] + "\n" == kaggle_csv.CSV_HEADER and sorted(lines[1:]) == sorted(rows)


def test_model_tgz_from_a_remote_model_to_a_remote_path(tmp_path):
    root = f"ram://model{os.getpid()}"  # a Model artifact: Format-Serving/ + Format-Kaggle/
    model = os.path.join(root, "Format-Serving")
    tf.io.gfile.makedirs(os.path.join(model, "variables"))
    tf.io.gfile.makedirs(os.path.join(model, "assets.extra"))
    tf.io.gfile.makedirs(saved_model.kaggle_dir(model))
    for name, text in {"Format-Serving/saved_model.pb": "pb",
                       "Format-Serving/variables/variables.index": "idx",
                       "Format-Serving/assets.extra/tf_serving_warmup_requests": "warm",
                       "Format-Kaggle/inference_model.meta": "meta"}.items():
        with tf.io.gfile.GFile(os.path.join(root, name), "w") as f:
            f.write(text)
    local_flags = tmp_path / "flags"
    local_flags.mkdir()
    flags = MF.save(str(local_flags), MF.ModelFlags("LogisticModel", "mean_rgb", "1024", False))
    tf.io.gfile.copy(flags, os.path.join(saved_model.kaggle_dir(model), MF.FILENAME))

    tgz = os.path.join(f"ram://out{os.getpid()}", "model.tgz")
    tf.io.gfile.makedirs(os.path.dirname(tgz))
    assert export_lib.write_model_tgz(model, tgz) == tgz
    assert tf.io.gfile.listdir(os.path.dirname(tgz)) == ["model.tgz"]
    local = str(tmp_path / "model.tgz")
    tf.io.gfile.copy(tgz, local)
    with tarfile.open(local) as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()}
    assert names == {MF.FILENAME, "inference_model.meta", "saved_model/saved_model.pb",
                     "saved_model/variables/variables.index",
                     "saved_model/assets.extra/tf_serving_warmup_requests"}


def test_model_tgz_without_model_flags_names_the_folder(tmp_path):
    (tmp_path / "model" / "Format-Serving").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=f"Format-Kaggle: no {MF.FILENAME}"):
        export_lib.write_model_tgz(str(tmp_path / "model" / "Format-Serving"),
                                   str(tmp_path / "model.tgz"))
    assert not (tmp_path / "model.tgz").exists()
