"""Training length that follows the data: at least ``min_steps`` optimizer steps.

A model's default epochs suit the full dataset; on a small own dataset they give few steps (the
default video model: 8 epochs of 1,202 videos are 40 steps) and the model under-trains. With a
``min_steps`` floor the number of epochs grows until the floor is reached; a dataset that
already gives that many steps trains exactly as configured. Counting stops as soon as the data
is known to be large enough, so a large dataset costs a bounded read, not a pass.
"""
from __future__ import annotations

import dataclasses
import math

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Length:
    """The epochs to train and why: ``records`` counted (None: not counted), ``complete``
    when that count is the whole dataset (it stops once the data is known to be large enough)."""

    num_epochs: int
    records: int | None = None
    complete: bool = False

    def total_steps(self, batch_size: int) -> int | None:
        """The optimizer steps of the whole run when the dataset was counted to its end."""
        return math.ceil(self.records / batch_size) * self.num_epochs if self.complete else None

    def describe(self, configured_epochs: int, batch_size: int, min_steps: int) -> str | None:
        """A log line when the floor changed the epochs, else None."""
        if self.num_epochs == configured_epochs or not self.records:
            return None
        steps = math.ceil(self.records / batch_size) * configured_epochs
        return (f"small dataset: {self.records} training videos give {steps} steps in "
                f"{configured_epochs} epochs; training {self.num_epochs} epochs to reach "
                f"`min_steps` {min_steps}")


def records_needed(num_epochs: int, batch_size: int, min_steps: int) -> int:
    """The fewest records per epoch with which ``num_epochs`` epochs reach ``min_steps``."""
    return (math.ceil(min_steps / num_epochs) - 1) * batch_size + 1


def epochs_for(files: list[str], num_epochs: int, batch_size: int, min_steps: int,
               compression: str | None = None) -> Length:
    """``num_epochs``, or more when the records of ``files`` give fewer than ``min_steps``
    steps in ``num_epochs`` epochs (ceil(records / batch_size) steps each)."""
    if min_steps <= 0 or not files:
        return Length(num_epochs)
    needed = records_needed(num_epochs, batch_size, min_steps)
    dataset = tf.data.TFRecordDataset(files, compression_type=compression).take(needed)
    count = int(dataset.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1).numpy())
    if count >= needed or count == 0:
        return Length(num_epochs, count, complete=count < needed)
    return Length(max(num_epochs, math.ceil(min_steps / math.ceil(count / batch_size))), count,
                  complete=True)


def apply(cfg, files: list[str], log=print, compression: str | None = None):
    """``(cfg with the epochs that reach its min_steps, the Length)``; logs when they grew.
    ``cfg`` is a train.loop.TrainConfig (both training paths call this)."""
    length = epochs_for(files, cfg.num_epochs, cfg.batch_size, cfg.min_steps, compression)
    note = length.describe(cfg.num_epochs, cfg.batch_size, cfg.min_steps)
    if note is None:
        return cfg, length
    log(note)
    return dataclasses.replace(cfg, num_epochs=length.num_epochs), length
