"""SIGKILL in the middle of `yt8m train`, then the same command again: it resumes."""
import glob
import os
import signal
import subprocess
import sys
import time

import tensorflow as tf

YT8M = os.path.join(os.path.dirname(sys.executable), "yt8m")


def test_sigkill_then_resume_continues_from_last_checkpoint(tiny_data, tmp_path):
    train_dir = str(tmp_path / "train_dir")
    cmd = [YT8M, "train", "--train_data_pattern", os.path.join(tiny_data, "video", "train*"),
           "--train_dir", train_dir, "--model", "LogisticModel", "--batch_size", "2",
           "--num_epochs", "1000", "--export_model_steps", "3", "--log_every_steps", "1",
           "--no_metagraph"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    def recorded_step():  # the `checkpoint` state file is written after the checkpoint itself
        latest = tf.train.latest_checkpoint(train_dir) if os.path.isdir(train_dir) else None
        return int(latest.rsplit("-", 1)[1]) if latest else 0

    while time.time() < deadline and recorded_step() < 6:
        assert proc.poll() is None, "training ended before it could be killed"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = int(tf.train.latest_checkpoint(train_dir).rsplit("-", 1)[1])
    assert killed_at >= 6 and not os.path.exists(os.path.join(train_dir, "export"))
    out = subprocess.run([*cmd, "--max_steps", str(killed_at + 4)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"resuming from global step {killed_at}" in out.stdout
    assert int(tf.train.latest_checkpoint(train_dir).rsplit("-", 1)[1]) == killed_at + 4
    assert glob.glob(os.path.join(train_dir, "export", f"step_{killed_at + 4:08d}", "saved_model"))
