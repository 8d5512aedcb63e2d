"""Training length that follows the data: more epochs below ``min_steps``, none above."""
import math

import tensorflow as tf

from trainer_module.train import length


def _files(tmp_path, counts, compression=None, name="part"):
    paths = []
    for i, n in enumerate(counts):
        path = str(tmp_path / f"{name}{i}.tfrecord")
        with tf.io.TFRecordWriter(path, options=compression) as writer:
            for _ in range(n):
                writer.write(b"x")
        paths.append(path)
    return paths


def test_small_data_gets_the_epochs_that_reach_min_steps(tmp_path):
    files = _files(tmp_path, [600, 602])  # 1,202 videos: 5 steps of 256 per epoch
    got = length.epochs_for(files, num_epochs=8, batch_size=256, min_steps=140)
    assert got == length.Length(28, 1202, complete=True)  # ceil(140 / 5)
    assert got.total_steps(256) == 5 * 28
    assert math.ceil(1202 / 256) * got.num_epochs >= 140
    line = got.describe(8, 256, 140)
    assert line == ("small dataset: 1202 training videos give 40 steps in 8 epochs; training "
                    "28 epochs to reach `min_steps` 140")


def test_enough_data_trains_as_configured_after_a_bounded_count(tmp_path):
    files = _files(tmp_path, [3000, 3000])
    needed = length.records_needed(8, 256, 140)  # 18 steps of 256 per epoch: 4,353 records
    assert needed == 17 * 256 + 1 and math.ceil(needed / 256) * 8 >= 140
    got = length.epochs_for(files, num_epochs=8, batch_size=256, min_steps=140)
    assert got == length.Length(8, needed) and got.describe(8, 256, 140) is None  # read stopped
    assert got.total_steps(256) is None  # not counted to the end: unknown
    one_short = _files(tmp_path, [needed - 1], name="short")
    assert length.epochs_for(one_short, 8, 256, 140).num_epochs == 9


def test_no_floor_or_no_data_changes_nothing(tmp_path):
    files = _files(tmp_path, [10], compression="GZIP")
    assert length.epochs_for(files, 5, 1024, 0) == length.Length(5)
    assert length.epochs_for(files, 5, 4, 100, compression="GZIP").num_epochs == 34  # 3 steps
    assert length.epochs_for(_files(tmp_path, [0], name="empty"), 5, 4, 100).num_epochs == 5
