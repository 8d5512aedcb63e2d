"""memory.trim_heap returns freed heap pages that glibc would otherwise keep resident, and the
training and prediction loops trim periodically."""
import os
import threading

import psutil
import pytest

from trainer_module import models
from trainer_module.data import features as F
from trainer_module.data import input_pipeline
from trainer_module.train import loop as training
from trainer_module.train import memory

glibc_only = pytest.mark.skipif(not psutil.LINUX, reason="malloc_trim is glibc's (Linux)")


@glibc_only
def test_trim_heap_returns_pages_freed_inside_a_thread_arena():
    kept = []

    def component_work():  # like a Beam worker thread: its own arena, mostly freed at the end
        chunks = [bytes(2000) for _ in range(75_000)]  # ~150 MB in small chunks
        kept.extend(chunks[::10])  # every 10th survives, so the arena cannot simply shrink
        del chunks

    worker = threading.Thread(target=component_work)
    worker.start()
    worker.join()
    process = psutil.Process()
    before = process.memory_info().rss
    assert memory.trim_heap()
    after = process.memory_info().rss
    assert before - after > 80 * 2**20, (before >> 20, after >> 20)
    assert len(kept) == 7_500


@glibc_only
def test_periodic_trim_runs_once_per_interval():
    now = [0.0]
    trim = memory.PeriodicTrim(every_seconds=5.0, clock=lambda: now[0])
    calls = []
    for t in (1.0, 4.9, 5.0, 6.0, 9.9, 10.1, 30.0):
        now[0] = t
        calls.append(trim())
    assert calls == [False, False, True, False, False, True, True]
    assert trim.trims == 3


def test_periodic_trim_rejects_a_non_positive_interval():
    with pytest.raises(ValueError, match="every_seconds must be > 0"):
        memory.PeriodicTrim(every_seconds=0)


class _EveryCall(memory.PeriodicTrim):
    """A trimmer whose clock moves a minute per call: it trims whenever the loop asks."""
    instances: list = []

    def __init__(self):
        ticks = iter(range(0, 10**6, 60))
        super().__init__(every_seconds=1.0, clock=lambda: float(next(ticks)))
        _EveryCall.instances.append(self)


@glibc_only
def test_training_and_prediction_loops_trim_every_step(tiny_data, tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "PeriodicTrim", _EveryCall)
    _EveryCall.instances.clear()
    spec = F.FeatureSpec.default()
    files = input_pipeline.list_files(os.path.join(tiny_data, "video", "train*"))
    trainer = training.Trainer(lambda: models.build_model("LogisticModel", spec),
                               training.TrainConfig(batch_size=8, log_every_steps=100),
                               checkpoint_dir=str(tmp_path / "ckpt"))
    ds = input_pipeline.make_dataset(files, spec, 8, training=False)
    result = trainer.fit(ds.map(input_pipeline.split_inputs).take(3), log=lambda *_: None)
    assert result.global_step == 3 and _EveryCall.instances[0].trims == 3
    batches = list(training.predict_batches(trainer.model, ds.take(2)))
    assert len(batches) == 2 and _EveryCall.instances[1].trims == 2
