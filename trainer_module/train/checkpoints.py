"""Restoring a trained model from a train_dir's checkpoints: the one place eval, ensemble and
the report rebuild a registry model and load its weights."""
from __future__ import annotations

import tensorflow as tf

from trainer_module import models
from trainer_module.data import records
from trainer_module.train import model_flags as MF

# Checkpoint key of the weights' moving averages (training with --ema_decay): what is exported,
# so what eval, ensemble, the report and --start_from read as the model's trainable weights.
AVERAGES = "averaged_weights"


def require_latest(train_dir: str, field: str = "train_dir") -> str:
    """The newest checkpoint prefix; raises FileNotFoundError naming the setting ``field``."""
    path = tf.train.latest_checkpoint(train_dir)
    if path is None:
        raise FileNotFoundError(f"`{field}` {train_dir}: no checkpoint")
    return path


def has_averages(checkpoint: str) -> bool:
    """Whether ``checkpoint`` holds moving averages of the weights (trained with --ema_decay)."""
    return any(name.startswith(AVERAGES + "/") for name, _ in tf.train.list_variables(checkpoint))


def has_float16_weights(prefix: str) -> bool:
    """Whether a SavedModel's variables are float16 (a ``--float16_weights`` export: its weights
    are frozen into the graph as constants and cannot be restored into a model)."""
    try:
        dtypes = tf.train.load_checkpoint(prefix).get_variable_to_dtype_map().values()
    except (tf.errors.OpError, ValueError):
        return False  # unreadable: restore_model names the file
    return tf.float16 in dtypes


def restore_model(flags: MF.ModelFlags, checkpoint: str):
    """The registry model of ``flags`` with the weights of ``checkpoint`` (optimizer ignored):
    the moving averages of its trainable weights where the checkpoint has them, as exported.

    Raises:
      ValueError: a model variable has no value in the checkpoint (another model's checkpoint),
        or the checkpoint files are unreadable (truncated), naming the checkpoint.
    """
    model = models.build_model(flags.model, flags.feature_spec(), flags.hparams)
    try:
        # read(), not restore(): no save_counter to match (a SavedModel's variables have none)
        status = tf.train.Checkpoint(model=model).read(checkpoint)
        status.assert_existing_objects_matched().expect_partial()  # the optimizer may be left
        if has_averages(checkpoint):  # the averages replace the raw trainable weights
            status = tf.train.Checkpoint(**{AVERAGES: model.trainable_variables}).read(checkpoint)
            status.assert_existing_objects_matched().expect_partial()
    except (AssertionError, ValueError) as e:
        raise ValueError(f"checkpoint {checkpoint} does not fit the {flags.model} of "
                         f"{MF.FILENAME} ({str(e).splitlines()[0][:200]})") from None
    except (tf.errors.OpError, OSError, IndexError) as e:  # IndexError: "Read less bytes"
        raise ValueError(f"checkpoint {checkpoint} is unreadable (truncated or damaged?): "
                         f"{records.summarize(e) if isinstance(e, tf.errors.OpError) else e}") from None
    return model


def restore_latest(train_dir: str, field: str = "train_dir"):
    """(model flags, model with the newest checkpoint's weights, checkpoint prefix)."""
    flags = MF.load(train_dir)
    checkpoint = require_latest(train_dir, field)
    return flags, restore_model(flags, checkpoint), checkpoint
