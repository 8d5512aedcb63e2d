"""``yt8m ensemble``: average the predictions of several trained models into one export.

Every member is rebuilt from its train_dir (model_flags.json + latest checkpoint); all must read
the same features. The ensemble is one tf_keras model (members nested, predictions averaged)
exported like a single model: ``saved_model/`` with the serving signature on serialized records,
``model_flags.json`` (of the first member, so `yt8m inference` loads it) and ``ensemble.json``
listing the members. The Kaggle MetaGraph is not written for ensembles. The output folder must be
new, empty or an earlier ensemble's (its manifest, ``output_folder``): nothing else is replaced.
"""
from __future__ import annotations

import dataclasses
import os

import tf_keras

from trainer_module import io_utils
from trainer_module.export import archive
from trainer_module.jobs import train as train_job
from trainer_module.models import layers as L
from trainer_module.output_folder import OutputFolder
from trainer_module.train import checkpoints
from trainer_module.train import model_flags as MF


@dataclasses.dataclass(frozen=True, kw_only=True)
class EnsembleJob:
    train_dirs: tuple[str, ...]
    output_dir: str
    output_model_tgz: str | None = None
    max_model_size_mb: float = 1024.0

    def __post_init__(self):
        if len(self.train_dirs) < 2:
            raise ValueError("`train_dirs` needs at least two train_dirs, comma-separated")


def load_member(train_dir: str, index: int):
    flags, model, _ = checkpoints.restore_latest(train_dir, "train_dirs")
    model._name = f"member_{index}_{flags.model}"  # unique names inside the ensemble
    return flags, model


def build_ensemble(members: list) -> tf_keras.Model:
    """Nests the member models; predictions [b, 3862] = mean of the members' predictions."""
    specs = {flags.feature_spec() for flags, _ in members}
    if len(specs) != 1:
        raise ValueError("`train_dirs`: the members read different features "
                         f"({', '.join(sorted(str(s) for s in specs))}); an ensemble needs one")
    features, num_frames = L.model_inputs(specs.pop())
    outputs = [model({"features": features, "num_frames": num_frames}) for _, model in members]
    mean = tf_keras.layers.Average(name="ensemble_mean", dtype="float32")(outputs)
    return tf_keras.Model([features, num_frames], mean, name="Ensemble")


def run(job: EnsembleJob, log=print) -> str:
    OutputFolder(job.output_dir, "ensemble", {}).claim().only_own_entries()
    members = [load_member(d, i) for i, d in enumerate(job.train_dirs)]
    ensemble = build_ensemble(members)

    def finish(staging: str) -> None:  # in the export before it replaces the folder
        io_utils.write_json(os.path.join(staging, "ensemble.json"),
                            {"members": [{"train_dir": d, "model": f.model}
                                         for d, (f, _) in zip(job.train_dirs, members)]})
        staged = OutputFolder(staging, "ensemble", {})
        for root, _, names in os.walk(staging):
            staged.files.update({os.path.relpath(os.path.join(root, n), staging): {}
                                 for n in names})
        staged.files[MF.FILENAME] = {}  # written last, by the export
        staged.flush()

    out = train_job.export_model(ensemble, members[0][0], job.output_dir, with_metagraph=False,
                                 max_size_mb=job.max_model_size_mb, finish=finish)
    log(f"ensemble of {len(members)} models ({ensemble.count_params():,} parameters, "
        f"{train_job.dir_size_mb(out):.1f} MB) exported to {out}")
    if job.output_model_tgz:
        archive.make_tgz(out, job.output_model_tgz)
        log(f"wrote model archive {job.output_model_tgz}")
    return out
