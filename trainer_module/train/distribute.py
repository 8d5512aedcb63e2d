"""Which replica this process is in a training cluster, and where it may write.

Vertex AI Training (and any TF_CONFIG launcher) starts every replica with the same command and a
``TF_CONFIG`` naming the cluster (``chief``: 1 address, ``worker``: the others) and this
process's task. Every replica builds the model inside one MultiWorkerMirroredStrategy and takes
part in every step; saving a checkpoint or a SavedModel is itself collective, so every replica
saves, but only the chief into the real folders: the others save into scratch folders that are
removed afterwards (TensorFlow's multi-worker guide, "model saving").
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
from typing import Iterator, Mapping

import tensorflow as tf

from trainer_module import io_utils


@dataclasses.dataclass(frozen=True)
class Role:
    """This process's place in the cluster (a single process: chief of a cluster of one)."""

    task_type: str = "chief"
    task_index: int = 0
    replicas: int = 1  # chief + workers

    @property
    def is_chief(self) -> bool:
        return self.task_type == "chief"

    @property
    def name(self) -> str:
        return f"{self.task_type}:{self.task_index}"


def role_from_env(env: Mapping[str, str] | None = None) -> Role:
    """The Role that ``TF_CONFIG`` describes (no TF_CONFIG, or a cluster of one: single process).

    Without a ``chief`` entry, worker 0 acts as chief (TensorFlow's convention).

    Raises:
      ValueError: TF_CONFIG is not JSON, or its task is not in its cluster.
    """
    raw = (os.environ if env is None else env).get("TF_CONFIG", "") or "{}"
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON ({e})") from None
    cluster = config.get("cluster") or {}
    chiefs, workers = list(cluster.get("chief") or []), list(cluster.get("worker") or [])
    replicas = len(chiefs) + len(workers)
    if replicas <= 1:
        return Role()
    task = config.get("task") or {}
    task_type, index = task.get("type"), int(task.get("index", 0))
    members = {"chief": chiefs, "worker": workers}.get(task_type)
    if members is None or not 0 <= index < len(members):
        raise ValueError(f"TF_CONFIG task {task!r} is not a chief or worker of its cluster "
                         f"({len(chiefs)} chief, {len(workers)} workers)")
    if task_type == "worker" and not chiefs and index == 0:
        task_type = "chief"
    return Role(task_type, index, replicas)


def make_strategy(role: Role) -> tf.distribute.Strategy:
    """MultiWorkerMirrored across a cluster, Mirrored over local GPUs, else the default."""
    if role.replicas > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if tf.config.list_logical_devices("GPU"):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def describe(strategy: tf.distribute.Strategy, role: Role, expected_gpus: int = 0) -> list[str]:
    """Log lines naming the devices and strategy training runs on, and a warning when GPUs were
    requested (``expected_gpus``, e.g. the pipeline's accelerator request) but none is visible."""
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    lines = [f"training on {', '.join(gpus) if gpus else 'CPU (no GPU visible)'} with "
             f"{type(strategy).__name__}: {strategy.num_replicas_in_sync} replica(s) in sync, "
             f"process {role.name} of {role.replicas}"]
    if expected_gpus and not gpus:
        lines.append(f"WARNING: {expected_gpus} GPU(s) requested but none is visible to "
                     "TensorFlow: training runs on the CPU (check the node's drivers and the "
                     "image's CUDA libraries)")
    return lines


@contextlib.contextmanager
def writable(path: str, role: Role) -> Iterator[str]:
    """``path`` for the chief; for any other replica a local scratch folder, removed on exit."""
    if role.is_chief:
        yield path
        return
    scratch = io_utils.make_scratch(f"{role.task_type}{role.task_index}")
    try:
        yield os.path.join(scratch, os.path.basename(path.rstrip("/")) or "out")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def barrier(strategy: tf.distribute.Strategy, role: Role) -> None:
    """Returns once every replica of a cluster got here (an all-reduce across the cluster).

    After the exports it means the chief's files are complete for every replica: TFX's Trainer
    executor checks in each replica that the model folder exists once run_fn returns.
    """
    if role.replicas > 1:
        strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.constant(1.0)),
                        axis=None)


def weights_digest(model) -> float:
    """A number that equal weights share (sum of |w|, float64): replicas compare it in logs."""
    return float(sum(abs(w.astype("float64")).sum() for w in model.get_weights()))
