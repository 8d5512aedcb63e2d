"""Shared fixtures: environment for tf_keras, the real YT8M sample, tiny generated datasets."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

from trainer_module.data import synthetic as synthetic_data  # noqa: E402


@pytest.fixture(scope="session")
def real_sample_dir():
    """The real 2018 video-level sample (YT8M_SAMPLE_DIR, set by `make test` when ../shared exists)."""
    path = os.environ.get("YT8M_SAMPLE_DIR")
    if not path or not os.path.isdir(os.path.join(path, "video_validate_sample")):
        pytest.skip("real YT8M sample not available: set YT8M_SAMPLE_DIR to a folder holding "
                    "video_validate_sample/ and vocabulary.csv")
    return path


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """60 videos, video and frame level (10-20 frames), 2 shards per split."""
    out = str(tmp_path_factory.mktemp("tiny_data"))
    synthetic_data.generate(synthetic_data.GeneratorConfig(
        output_dir=out, num_videos=60, frame_level=True, num_shards=2, seed=1,
        min_frames=10, max_frames=20, signal=2.0), progress=False)
    return out
