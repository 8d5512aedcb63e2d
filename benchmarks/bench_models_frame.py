"""Benchmark: frame-level models on synthetic frame-level data at an equal training budget
(FrameLevelLogistic, DBoF, LSTM, NetVLAD, NeXtVLAD).

Synthetic videos carry each label's signal in one segment of 30-70 % of the frames, so a model
that looks at frames (DBoF's cluster pooling, an LSTM) should beat the average-then-logistic
baseline. Models train as ``yt8m train --frame_features`` at an equal training budget (batch 64,
Adam 0.003, 8 epochs: the seed's batch 1024 would give a 2,100-video training split only two
steps per epoch) and at reduced widths so that a 2-core CPU finishes in minutes.

Run: .venv/bin/python -m benchmarks.bench_models_frame
"""
from __future__ import annotations

import os
import tempfile

from benchmarks import common
from benchmarks.bench_models_real import train_and_eval
from trainer_module import synthetic_data

BUDGET = ["--batch_size", "64", "--base_learning_rate", "0.003", "--num_epochs", "8"]
CASES = [("FrameLevelLogisticModel", []),
         ("DbofModel", ["--dbof_cluster_size", "1024", "--dbof_hidden_size", "512"]),
         ("LstmModel", ["--lstm_cells", "1024", "--lstm_layers", "1", "--lstm_pooling", "mean"]),
         ("NetVladModel", ["--netvlad_cluster_size", "16", "--netvlad_hidden_size", "512"]),
         ("NeXtVladModel", ["--nextvlad_cluster_size", "32", "--nextvlad_hidden_size", "512"])]


def main():
    rows = []
    with tempfile.TemporaryDirectory() as work:
        data = os.path.join(work, "data")
        synthetic_data.generate(synthetic_data.GeneratorConfig(
            output_dir=data, num_videos=3_000, frame_level=True, num_shards=6, seed=5,
            min_frames=20, max_frames=60), progress=False)
        train = os.path.join(data, "frame", "train*")
        evaluate = os.path.join(data, "frame", "validate*")
        for model, extra in CASES:
            r = train_and_eval(model, train, evaluate, work,
                               ["--frame_features", "--max_frames", "60", *BUDGET, *extra])
            rows.append([model, " ".join(extra) or "defaults", r["settings"], f"{r['gap']:.4f}",
                         f"{r['hit_at_one']:.4f}", f"{r['params'] / 1e6:.2f} M",
                         round(r["examples_per_sec"])])
            print(rows[-1], flush=True)
    common.record("bench_models_frame", "Frame-level models on synthetic data "
                  "(3,000 videos, 20-60 frames; train 70 %, eval on the validate split)",
                  ["model", "size flags", "training", "GAP@20", "Hit@1", "parameters",
                   "train examples/s"], rows)


if __name__ == "__main__":
    main()
