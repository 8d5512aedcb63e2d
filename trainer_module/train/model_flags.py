"""``model_flags.json``: what a train_dir / model .tgz was trained with (the seed's contract).

Keys ``model``, ``feature_names``, ``feature_sizes``, ``frame_features`` as in the seed, plus
``max_frames``, ``hparams`` and ``label_loss`` so a model can be rebuilt exactly, and
``segment_labels`` for a model trained on the 2019 rated 5-frame segments (its ``max_frames``
is then 5: the model's input is one segment).
"""
from __future__ import annotations

import dataclasses
import json
import os

from trainer_module import io_utils
from trainer_module import models
from trainer_module.data import features as F
from trainer_module.data import segments as S
from trainer_module.models import hparams as H

FILENAME = "model_flags.json"
COMPARED = ("model", "feature_names", "feature_sizes", "frame_features", "max_frames",
            "segment_labels", "hparams")


@dataclasses.dataclass(frozen=True)
class ModelFlags:
    model: str
    feature_names: str
    feature_sizes: str
    frame_features: bool
    max_frames: int = F.MAX_FRAMES
    hparams: dict = dataclasses.field(default_factory=dict)
    label_loss: str = "CrossEntropyLoss"
    segment_labels: bool = False

    def __post_init__(self):
        if self.segment_labels and not self.frame_features:
            raise ValueError("`segment_labels` trains on 5-frame segments of frame-level "
                             "records: it needs `frame_features`")
        if self.segment_labels and self.max_frames != S.SEGMENT_FRAMES:
            raise ValueError(f"a segment model's `max_frames` is {S.SEGMENT_FRAMES} (one "
                             f"segment), got {self.max_frames}")
        models.check_level(self.model, self.feature_spec())

    @classmethod
    def resolve(cls, model: str | None = None, frame_features: bool = False,
                feature_names: str | None = None, feature_sizes: str | None = None,
                max_frames: int = F.MAX_FRAMES, hparams: dict | None = None,
                label_loss: str = "CrossEntropyLoss",
                segment_labels: bool = False) -> "ModelFlags":
        """The one place defaults are filled in (CLI and pipeline config alike): the level's
        default model and features, the model's hyperparameters with ``hparams`` applied;
        ``segment_labels``: a segment model (``max_frames`` 5).

        Raises:
          ValueError: unknown model, bad features, a model of the other level, bad hparams.
        """
        model = model or models.default_model(frame_features)
        names, sizes = F.FeatureSpec.default_flags(frame_features)
        return cls(model=model, feature_names=feature_names or names,
                   feature_sizes=feature_sizes or sizes, frame_features=bool(frame_features),
                   max_frames=S.SEGMENT_FRAMES if segment_labels else max_frames,
                   hparams=models.resolve_hparams(model, hparams), label_loss=label_loss,
                   segment_labels=bool(segment_labels))

    def feature_spec(self) -> F.FeatureSpec:
        return F.FeatureSpec.from_flags(self.feature_names, self.feature_sizes, self.frame_features,
                                        self.max_frames, self.num_classes)

    @property
    def num_classes(self) -> int:
        """Width of the classifier (hparams ``num_classes``; YouTube-8M's 3862 by default)."""
        return int(self.hparams.get("num_classes", F.NUM_CLASSES))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict, source: str = "model_flags") -> "ModelFlags":
        missing = [k for k in ("model", "feature_names", "feature_sizes", "frame_features") if k not in d]
        if missing:
            raise ValueError(f"{source}: missing keys {', '.join(missing)}")
        known = {f.name for f in dataclasses.fields(cls)}
        if isinstance(d.get("hparams"), dict):  # written before a rename: the names of today
            d = {**d, "hparams": H.upgrade(d["hparams"])}
        try:
            return cls(**{k: v for k, v in d.items() if k in known})
        except (TypeError, ValueError) as e:
            raise ValueError(f"{source}: {e}") from None


def save(directory: str, flags: ModelFlags) -> str:
    path = os.path.join(directory, FILENAME)
    io_utils.write_json(path, flags.to_dict())
    return path


def load(directory: str) -> ModelFlags:
    """Reads ``directory/model_flags.json``.

    Raises:
      FileNotFoundError / ValueError: missing, unreadable or malformed file (naming it).
    """
    import tensorflow as tf  # gfile: the folder may be a gs:// artifact

    path = os.path.join(directory, FILENAME)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{path} not found: is {directory} a train_dir written by "
                                "`yt8m train` or an unpacked model .tgz?")
    try:
        with tf.io.gfile.GFile(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: malformed JSON ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return ModelFlags.from_dict(data, source=path)


def segment_model(flags: ModelFlags) -> ModelFlags:
    """``flags``' model rebuilt on one 5-frame segment: its weights do not depend on
    ``max_frames`` (the registry's frame models mask or pool the frames), so a model trained on
    whole videos scores segments with the same weights."""
    if not flags.frame_features:
        raise ValueError(f"a video-level model ({flags.model} on {flags.feature_names}) cannot "
                         "score 5-frame segments: segments need a frame-level model")
    return dataclasses.replace(flags, max_frames=S.SEGMENT_FRAMES, segment_labels=True)


def differences(stored: ModelFlags, requested: ModelFlags,
                template: str = "{key}: stored {a!r}, given {b!r}",
                ignore_hparams: tuple = (), ignore: tuple = ()) -> list[str]:
    """``template`` filled for each compared setting that differs; hyperparameters one by one as
    ``hparams.NAME`` (those in ``ignore_hparams`` left out; a name the stored flags lack, from a
    model_flags.json written before it existed, counts as its requested value); settings in
    ``ignore`` are not compared."""
    a, b = stored.to_dict(), requested.to_dict()
    diffs = [template.format(key=k, a=a[k], b=b[k]) for k in COMPARED
             if k != "hparams" and k not in ignore and a[k] != b[k]]
    return diffs + [template.format(key=f"hparams.{k}", a=a["hparams"].get(k, v), b=v)
                    for k, v in b["hparams"].items()
                    if k not in ignore_hparams and a["hparams"].get(k, v) != v]


def check_compatible(stored: ModelFlags, requested: ModelFlags, train_dir: str) -> None:
    """Raises ValueError when resuming train_dir with different model/feature flags."""
    diffs = differences(stored, requested)
    if diffs:
        raise ValueError(f"{train_dir}/{FILENAME} disagrees with the flags ({'; '.join(diffs)}); "
                         "set `start_new_model` to start over, or a new `train_dir`")
