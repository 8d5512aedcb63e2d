"""``start_from``: initialise a new training run with a trained model's weights (fine-tuning).

The source is a train_dir (its newest checkpoint) or a model .tgz (its SavedModel's variables).
It must be the same model with the same features and hyperparameters; only ``num_classes`` may
differ, for a user's own label set: then the classifier's weights (whose shapes depend on the
number of classes) start fresh and every other weight is copied. A segment model
(``segment_labels``) may start from the same model trained on whole videos.
"""
from __future__ import annotations

import contextlib
import os
import tempfile

import numpy as np

from trainer_module.export import archive
from trainer_module.train import checkpoints
from trainer_module.train import model_flags as MF


@contextlib.contextmanager
def _source_dir(source: str):
    """(folder with model_flags.json, checkpoint prefix) of a train_dir or a model .tgz."""
    if os.path.isfile(source):
        with tempfile.TemporaryDirectory(prefix="yt8m_start_from_") as tmp:
            archive.safe_extract(source, tmp)
            prefix = os.path.join(tmp, "saved_model", "variables", "variables")
            if checkpoints.has_float16_weights(prefix):
                raise ValueError(f"`start_from` {source}: a float16 export (its weights frozen into "
                                 "the graph as float16 constants) cannot be trained further; "
                                 "start from the train_dir or the float32 .tgz it was made from")
            yield tmp, prefix
    elif os.path.isdir(source):
        yield source, checkpoints.require_latest(source, "start_from")
    else:
        raise FileNotFoundError(f"`start_from` {source}: neither a train_dir nor a model .tgz")


def initialise(model, flags: MF.ModelFlags, source: str) -> str:
    """Copies the source's weights into ``model`` (built from ``flags``); returns a summary.

    Raises:
      ValueError: another model, other features or other hyperparameters than num_classes.
    """
    with _source_dir(source) as (folder, checkpoint):
        stored = MF.load(folder)
        # a video-level frame model fine-tunes into a segment model (the weights do not
        # depend on the frames per input), as the 2019 leaders did
        diffs = MF.differences(stored, flags, "{key}: {a!r} there, {b!r} here",
                               ignore_hparams=("num_classes",),
                               ignore=("max_frames", "segment_labels") if flags.segment_labels
                               else ())
        if diffs:
            raise ValueError(f"`start_from` {source} is another model ({'; '.join(diffs)}): "
                             "fine-tuning starts from the same architecture")
        source_model = checkpoints.restore_model(
            MF.segment_model(stored) if flags.segment_labels else stored, checkpoint)
    if len(model.weights) != len(source_model.weights):
        raise ValueError(f"`start_from` {source}: {len(source_model.weights)} weights there, "
                         f"{len(model.weights)} here: not the same architecture")
    copied = fresh = 0
    for target, value in zip(model.weights, source_model.weights):
        if tuple(target.shape) == tuple(value.shape):
            target.assign(value)
            copied += int(np.prod(target.shape))
        else:
            fresh += int(np.prod(target.shape))
    classes = ("" if stored.num_classes == flags.num_classes else
               f"; classifier for {flags.num_classes} classes (was {stored.num_classes}) starts "
               f"fresh: {fresh:,} parameters")
    return f"initialised {copied:,} parameters from {source}{classes}"

