"""Training clusters: TF_CONFIG roles, and two real processes training one model together."""
import json
import os
import re
import subprocess
import sys

import pytest

from tests.net import free_ports
from trainer_module.train import distribute


def _tf_config(task_type, index=0, chiefs=1, workers=1):
    cluster = {"worker": [f"127.0.0.1:{2000 + i}" for i in range(workers)]}
    if chiefs:
        cluster["chief"] = ["127.0.0.1:1999"]
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})}


def test_roles_from_tf_config():
    assert distribute.role_from_env({}) == distribute.Role()
    # Vertex AI's shape for a chief pool and a worker pool of one replica each
    chief = distribute.role_from_env(_tf_config("chief"))
    worker = distribute.role_from_env(_tf_config("worker"))
    assert (chief.is_chief, chief.replicas) == (True, 2)
    assert (worker.is_chief, worker.replicas, worker.name) == (False, 2, "worker:0")
    # without a chief entry, worker 0 is the chief; a cluster of one is a single process
    assert distribute.role_from_env(_tf_config("worker", 0, chiefs=0, workers=3)).is_chief
    assert not distribute.role_from_env(_tf_config("worker", 2, chiefs=0, workers=3)).is_chief
    assert distribute.role_from_env(_tf_config("chief", workers=0)) == distribute.Role()
    with pytest.raises(ValueError, match="not a chief or worker"):
        distribute.role_from_env(_tf_config("worker", 5))
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        distribute.role_from_env({"TF_CONFIG": "{"})


def test_writable_scratch_is_removed_for_non_chief(tmp_path):
    target = str(tmp_path / "out")
    with distribute.writable(target, distribute.Role()) as path:
        assert path == target
    with distribute.writable(target, distribute.Role("worker", 1, 3)) as path:
        assert not path.startswith(str(tmp_path))
        os.makedirs(path)
        open(os.path.join(path, "x"), "w").close()
    assert not os.path.exists(path) and not os.path.exists(target)


def _train_records(pattern):
    import tensorflow as tf
    return sum(1 for f in tf.io.gfile.glob(pattern) for _ in tf.data.TFRecordDataset(f))


def test_two_processes_train_one_model(tiny_data, tmp_path):
    """A chief and a worker (TF_CONFIG on 127.0.0.1) run `yt8m train`: both take part in every
    step (each reads half of the records), end with identical weights, and only the chief's
    outputs exist; the worker's scratch folders are gone."""
    pattern = os.path.join(tiny_data, "video", "train*.tfrecord")
    train_dir = tmp_path / "train_dir"
    scratch_root = tmp_path / "scratch"
    scratch_root.mkdir()
    ports = free_ports(2)
    cluster = {"chief": [f"127.0.0.1:{ports[0]}"], "worker": [f"127.0.0.1:{ports[1]}"]}
    procs = {}
    for task in ("chief", "worker"):
        env = dict(os.environ, TMPDIR=str(scratch_root), TF_CPP_MIN_LOG_LEVEL="3",
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": task, "index": 0}}))
        procs[task] = subprocess.Popen(
            [sys.executable, "-m", "yt8m_cli.main", "train", "--train_data_pattern", pattern,
             "--train_dir", str(train_dir), "--model", "LogisticModel", "--batch_size", "8",
             "--num_epochs", "1", "--no_metagraph"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = {task: p.communicate(timeout=300)[0] for task, p in procs.items()}
    for task, p in procs.items():
        assert p.returncode == 0, out[task][-3000:]
    lines = {task: re.search(r"replica (\w+):0 of 2: weights digest (\S+) \((\d+) examples in "
                             r"(\d+) steps\)", text) for task, text in out.items()}
    assert lines["chief"] and lines["worker"], out
    examples = {t: int(m.group(3)) for t, m in lines.items()}
    assert examples["chief"] + examples["worker"] == _train_records(pattern)
    assert abs(examples["chief"] - examples["worker"]) <= 8  # each read about half
    assert lines["chief"].group(4) == lines["worker"].group(4)  # the same global steps
    assert lines["chief"].group(2) == lines["worker"].group(2)  # identical final weights
    exports = os.listdir(train_dir / "export")
    assert len(exports) == 1 and (train_dir / "export" / exports[0] / "saved_model").is_dir()
    assert "exported to scratch (the chief exports)" in out["worker"]
    assert list(scratch_root.iterdir()) == []  # the worker's checkpoints and export removed


def test_the_devices_are_named_and_a_missing_gpu_is_reported():
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    lines = distribute.describe(strategy, distribute.Role())
    assert lines == ["training on CPU (no GPU visible) with _DefaultDistributionStrategy: "
                     "1 replica(s) in sync, process chief:0 of 1"]
    warned = distribute.describe(strategy, distribute.Role(), expected_gpus=2)
    assert len(warned) == 2 and warned[1].startswith("WARNING: 2 GPU(s) requested but none")
