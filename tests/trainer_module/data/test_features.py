"""Feature specs, flag parsing and (de)quantization against the seed's formula."""
import os

import numpy as np
import pytest
import tensorflow as tf

from trainer_module.data import features as F
from trainer_module.data import input_pipeline


def test_dequantize_matches_seed_formula_for_all_bytes():
    b = np.arange(256, dtype=np.uint8)
    max_q, min_q = 2.0, -2.0
    seed = b.astype(np.float32) * ((max_q - min_q) / 255.0) + ((max_q - min_q) / 512.0 + min_q)
    np.testing.assert_allclose(F.dequantize_np(b), seed, rtol=0, atol=1e-6)
    np.testing.assert_allclose(F.dequantize_tf(tf.constant(b)).numpy(), F.dequantize_np(b), atol=0)
    # the fused uint8 kernel and the formula (other dtypes) agree bit for bit, any range
    for lo, hi in ((-2.0, 2.0), (-1.0, 3.5)):
        fused = F.dequantize_tf(tf.constant(b), hi, lo).numpy()
        formula = F.dequantize_tf(tf.constant(b, tf.int32), hi, lo).numpy()
        np.testing.assert_array_equal(fused, formula)
        np.testing.assert_array_equal(fused, F.dequantize_np(b, hi, lo))
    assert F.dequantize_np(np.uint8(0)) == pytest.approx(-2 + 4 / 512)


def test_quantize_inverts_dequantize_and_clips():
    b = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(F.quantize_np(F.dequantize_np(b)), b)
    np.testing.assert_array_equal(F.quantize_np(np.array([-9.0, 9.0])), [0, 255])


def test_from_flags_parses_seed_strings():
    spec = F.FeatureSpec.from_flags("rgb,audio", "1024,128", frame_features=True)
    assert spec.names == ("rgb", "audio") and spec.dim == 1152 and spec.frame_level
    assert F.FeatureSpec.from_flags("mean_audio", "128", False).dim == 128


@pytest.mark.parametrize("names,sizes,frame,needle", [
    ("rgb,audio", "1024", True, "same length"),
    ("mean_rgb,colour", "1024,3", False, "'colour'"),
    ("mean_rgb", "512", False, "size 1024"),
    ("", "", False, "empty"),
    ("rgb", "1024", False, "unknown video-level feature 'rgb'"),
    ("mean_rgb", "abc", False, "integers"),
])
def test_from_flags_rejects_bad_values(names, sizes, frame, needle):
    with pytest.raises(ValueError, match=needle):
        F.FeatureSpec.from_flags(names, sizes, frame)


def test_input_ram_budget_is_four_batches_and_reaches_the_datasets(tiny_data):
    frame = F.FeatureSpec.default(frame_level=True, max_frames=300)
    assert F.input_ram_budget_bytes(frame, 64) == 4 * 64 * 300 * 1152 * 4  # 354 MB
    video = F.FeatureSpec.default()
    assert F.input_ram_budget_bytes(video, 1024) == 64 << 20  # 19 MB of batches: the floor
    files = input_pipeline.list_files(os.path.join(tiny_data, "video", "train*"))
    ds = input_pipeline.make_dataset(files, video, 8, training=True)
    assert ds.options().autotune.ram_budget == 64 << 20
    assert next(iter(ds))[F.FEATURES].shape == (8, 1152)


def test_shuffle_buffer_is_constant_in_the_data():
    video, frame = F.FeatureSpec.default(), F.FeatureSpec.default(frame_level=True)
    assert F.shuffle_buffer_records(video, 1024) == 5120  # the seed's shuffle_batch capacity
    assert F.shuffle_buffer_records(video, 64) == 320
    assert F.shuffle_buffer_records(frame, 1024) == F.shuffle_buffer_records(frame, 64) == 512
