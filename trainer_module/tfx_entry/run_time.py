"""The Trainer's run-time parameters: the model and the number of epochs that a compiled
pipeline's "create run" form may change, applied to the compiled custom_config.

custom_config (pipeline/create.py) holds the resolved ``model_flags`` and ``training`` settings of
the compiled model, and in ``explicit`` what the user set (hparams and the training settings
that otherwise come from the model's defaults). The Trainer's executor
(components/trainer) puts the run's values under ``run_time``. A different model is resolved
anew: its own defaults, the explicit settings on top (hparams given for another model are an
error naming the parameter). ``num_epochs`` is used as given, as the form shows it; the model's
step floor (``min_steps``) still adds epochs on small data (trainer_module/train/length.py).
"""
from __future__ import annotations

from trainer_module import models
from trainer_module.train import model_flags as MF

RUN_TIME_KEY = "run_time"
EXPLICIT_KEY = "explicit"
MODEL, NUM_EPOCHS = "model", "num_epochs"


def resolve(custom_config: dict) -> tuple[MF.ModelFlags, dict]:
    """(model flags, training settings) of this run.

    Raises:
      ValueError: naming the run-time parameter: an unknown model, one of the other level, hparams
        that do not fit it, epochs < 1.
    """
    flags = MF.ModelFlags.from_dict(custom_config["model_flags"], "custom_config")
    settings = dict(custom_config["training"])
    run_time = custom_config.get(RUN_TIME_KEY) or {}
    model = run_time.get(MODEL)
    if model and model != flags.model:
        explicit = custom_config.get(EXPLICIT_KEY) or {}
        try:
            new = MF.ModelFlags.resolve(model, flags.frame_features, flags.feature_names,
                                        flags.feature_sizes, flags.max_frames,
                                        explicit.get("hparams"), flags.label_loss,
                                        flags.segment_labels)
        except ValueError as e:
            raise ValueError(f"run-time parameter `model` {model!r}: {e}") from None
        for key in models.get(flags.model).training:  # the old model's defaults go
            settings.pop(key, None)
        settings.update(models.training_settings(model, explicit.get("training")))
        flags = new
    epochs = run_time.get(NUM_EPOCHS)
    if epochs is not None:
        if int(epochs) != epochs or epochs < 1:
            raise ValueError(f"run-time parameter `num_epochs` must be an integer >= 1, got "
                             f"{epochs!r}")
        settings["num_epochs"] = int(epochs)
    return flags, settings
