"""The training loop shared by ``yt8m train`` and the TFX Trainer's run_fn.

A tf.function train step under a tf.distribute strategy (all visible GPUs with MirroredStrategy,
MultiWorkerMirroredStrategy across the chief and workers that TF_CONFIG names, where only the
chief writes checkpoints and summaries: ``distribute``; the default strategy on CPU),
the seed's optimizer settings (exponential learning-rate decay counted in examples, per-variable
gradient-norm clipping, regularization penalty), checkpoints that resume the global step, and
TensorBoard summaries of loss, Hit@1, PERR, GAP and examples/sec. The loops hand freed heap
pages back to the OS every few seconds (memory.PeriodicTrim), so that blocks freed into glibc's
arenas do not pile up over a long run.
"""
from __future__ import annotations

import contextlib
import dataclasses
import shutil
import signal
import threading
import time

import numpy as np
import tensorflow as tf
import tf_keras

from trainer_module import io_utils
from trainer_module.data import features as F
from trainer_module.evaluation import metrics as M
from trainer_module.models import TRAINING_DEFAULTS as D
from trainer_module.models.hparams import coerce
from trainer_module.train import checkpoints
from trainer_module.train import distribute
from trainer_module.train import losses
from trainer_module.train import memory

OPTIMIZERS = {"AdamOptimizer": tf_keras.optimizers.Adam, "Adam": tf_keras.optimizers.Adam,
              "GradientDescentOptimizer": tf_keras.optimizers.SGD, "SGD": tf_keras.optimizers.SGD,
              "RMSPropOptimizer": tf_keras.optimizers.RMSprop, "AdagradOptimizer": tf_keras.optimizers.Adagrad}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimization settings (seed flag names; every default: models.TRAINING_DEFAULTS)."""

    batch_size: int = D["batch_size"]
    base_learning_rate: float = D["base_learning_rate"]
    learning_rate_decay: float = D["learning_rate_decay"]
    learning_rate_decay_examples: int = D["learning_rate_decay_examples"]
    num_epochs: int = D["num_epochs"]
    max_steps: int | None = D["max_steps"]
    optimizer: str = D["optimizer"]
    clip_gradient_norm: float = D["clip_gradient_norm"]
    regularization_penalty: float = D["regularization_penalty"]
    label_loss: str = D["label_loss"]
    label_smoothing: float = D["label_smoothing"]
    log_every_steps: int = D["log_every_steps"]
    export_model_steps: int = D["export_model_steps"]
    seed: int = D["seed"]
    warmup_steps: int = D["warmup_steps"]  # linear learning-rate warm-up from 0 over this many steps
    ema_decay: float = D["ema_decay"]  # > 0: export an exponential moving average of the weights
    mixed_precision: bool = D["mixed_precision"]  # mixed_float16 on GPU, mixed_bfloat16 on CPU
    expected_gpus: int = 0  # GPUs the platform was asked for: warn when none is visible
    # Train at least this many steps: a small dataset gets more epochs (train/length.py).
    min_steps: int = D["min_steps"]

    def __post_init__(self):
        for field in dataclasses.fields(self):  # types and finiteness, strictly
            value = getattr(self, field.name)
            if value is not None:
                object.__setattr__(self, field.name, coerce(
                    field.name, field.default if field.default is not None else 0, value))
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"`optimizer`: unknown {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
        losses.get(self.label_loss)
        for name in ("batch_size", "num_epochs", "log_every_steps", "export_model_steps",
                     "learning_rate_decay_examples"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be >= 1, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"`max_steps` must be >= 1, got {self.max_steps}")
        if self.base_learning_rate <= 0:
            raise ValueError(f"`base_learning_rate` must be > 0, got {self.base_learning_rate}")
        if not 0 < self.learning_rate_decay <= 1:
            raise ValueError(f"`learning_rate_decay` must be in (0, 1], got "
                             f"{self.learning_rate_decay}")
        for name in ("clip_gradient_norm", "regularization_penalty"):
            if getattr(self, name) < 0:
                raise ValueError(f"`{name}` must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"`label_smoothing` must be in [0, 1), got {self.label_smoothing}")
        for name in ("warmup_steps", "min_steps", "expected_gpus"):
            if getattr(self, name) < 0:
                raise ValueError(f"`{name}` must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"`ema_decay` must be in [0, 1), got {self.ema_decay}")


@tf_keras.utils.register_keras_serializable("yt8m")
class WarmUp(tf_keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to the wrapped schedule's value over ``warmup_steps`` steps."""

    def __init__(self, schedule, warmup_steps: int):
        self.schedule, self.warmup_steps = schedule, warmup_steps

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        scale = tf.minimum(1.0, (step + 1.0) / float(max(self.warmup_steps, 1)))
        return self.schedule(step) * scale

    def get_config(self):
        return {"schedule": tf_keras.optimizers.schedules.serialize(self.schedule),
                "warmup_steps": self.warmup_steps}


def make_optimizer(cfg: TrainConfig):
    """The seed's optimizer: exponential decay counted in examples, gradient-norm clipping; plus
    optional warm-up, weight EMA (the optimizer keeps the averages) and loss scaling for float16."""
    schedule = tf_keras.optimizers.schedules.ExponentialDecay(
        cfg.base_learning_rate, decay_steps=max(cfg.learning_rate_decay_examples / cfg.batch_size, 1),
        decay_rate=cfg.learning_rate_decay, staircase=True)
    if cfg.warmup_steps:
        schedule = WarmUp(schedule, cfg.warmup_steps)
    kwargs = {"learning_rate": schedule, "clipnorm": cfg.clip_gradient_norm or None}
    if cfg.ema_decay:
        kwargs.update(use_ema=True, ema_momentum=cfg.ema_decay)
    optimizer = OPTIMIZERS[cfg.optimizer](**kwargs)
    if tf_keras.mixed_precision.global_policy().name == "mixed_float16":
        optimizer = tf_keras.mixed_precision.LossScaleOptimizer(optimizer)
    return optimizer


def precision_policy(enabled: bool) -> str:
    """Sets the global Keras dtype policy for models built next; returns its name."""
    name = "float32"
    if enabled:
        name = "mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16"
    tf_keras.mixed_precision.set_global_policy(name)
    return name


def _averages(optimizer, model) -> list:
    """The optimizer's moving averages of ``model``'s trainable weights, in their order (the
    optimizer keeps them among its unnamed variables)."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # under loss scaling
    optimizer.build(model.trainable_variables)
    return list(optimizer._model_variables_moving_average)


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite: the step is named, nothing is exported."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM during training: a checkpoint of the last finished step was
    written. ``signum``: the signal (the CLI exits 128 + signum)."""

    def __init__(self, message: str, signum: int = signal.SIGINT):
        super().__init__(message)
        self.signum = signum


NONFINITE_LOSS = "training loss is NaN or infinite"


class _StopRequest:
    requested = False
    signum = signal.SIGINT


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C; what Kubernetes and Vertex send


@contextlib.contextmanager
def _stop_on_signals():
    """Ctrl-C (SIGINT) or SIGTERM (a preempted pod or node) asks the loop to stop after the step
    in progress, instead of raising KeyboardInterrupt wherever TensorFlow happens to be (a lock
    held inside tf.data or a function call can then hang the checkpoint save). A second signal
    interrupts at once. Outside the main thread (where handlers cannot be set) Python's default
    applies."""
    stop = _StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        if stop.requested:
            raise KeyboardInterrupt
        stop.requested, stop.signum = True, signum

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


@dataclasses.dataclass
class TrainResult:
    global_step: int
    examples: int
    seconds: float
    last_loss: float
    labelled: int = -1  # videos with at least one label (-1: not counted)
    exhausted: bool = False  # the dataset ended (not cut short by max_steps)

    @property
    def examples_per_sec(self) -> float:
        return self.examples / max(self.seconds, 1e-9)


class Trainer:
    """Owns the model, optimizer and checkpoints of one train_dir."""

    def __init__(self, build_model, cfg: TrainConfig, checkpoint_dir: str,
                 strategy: tf.distribute.Strategy | None = None, summary_dir: str | None = None,
                 role: distribute.Role | None = None):
        self.cfg = cfg
        self.role = role or distribute.role_from_env()
        self.strategy = strategy or distribute.make_strategy(self.role)
        self.precision = precision_policy(cfg.mixed_precision)
        # Python's, NumPy's and TensorFlow's generators: tf_keras draws unseeded initializers'
        # seeds from Python's `random`, so tf.random.set_seed alone left the initial weights random
        tf_keras.utils.set_random_seed(cfg.seed)
        try:
            with self.strategy.scope():
                self.model = build_model()
                self.optimizer = make_optimizer(cfg)
                objects = {"model": self.model, "optimizer": self.optimizer}
                if cfg.ema_decay:  # the averages, built now, also saved under a name of their own
                    objects[checkpoints.AVERAGES] = _averages(self.optimizer, self.model)
                self.checkpoint = tf.train.Checkpoint(**objects)
        finally:  # layers keep the policy they were built with; later models start from float32
            precision_policy(False)
        # Every replica restores from the chief's folder; saving is collective, so the others
        # save too, into a scratch folder that close() removes.
        self.checkpoint_dir = checkpoint_dir
        self._scratch = None if self.role.is_chief else io_utils.make_scratch(
            f"{self.role.task_type}{self.role.task_index}")
        self.manager = tf.train.CheckpointManager(self.checkpoint, self._scratch or checkpoint_dir,
                                                  max_to_keep=3, checkpoint_name="model.ckpt")
        self.writer = (tf.summary.create_file_writer(summary_dir)
                       if summary_dir and self.role.is_chief else None)
        self.loss_fn = losses.get(cfg.label_loss)
        self._step_fn = None
        self._described = False
        self._total, self._clock = None, None  # progress: end step; (first step, its time)

    def close(self) -> None:
        """Removes a non-chief replica's scratch checkpoints."""
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def restore(self) -> int:
        """Restores the latest checkpoint if any; returns the global step.

        Raises:
          ValueError: the checkpoint does not fit this model (a different architecture).
        """
        latest = tf.train.latest_checkpoint(self.checkpoint_dir)
        if latest:
            try:
                self.checkpoint.restore(latest).assert_existing_objects_matched()
            except (AssertionError, ValueError, tf.errors.InvalidArgumentError) as e:
                raise ValueError(f"checkpoint {latest} does not match the model being trained "
                                 f"({str(e).splitlines()[0][:200]}); set `start_new_model` or use "
                                 "another `train_dir`") from None
            except (tf.errors.OpError, IndexError) as e:  # IndexError: "Read less bytes ..."
                raise ValueError(f"checkpoint {latest} is unreadable (truncated or damaged: "
                                 f"{str(e).splitlines()[0][:200]}); delete its files to resume "
                                 "from the one before, or set `start_new_model`") from None
        return int(self.optimizer.iterations.numpy())

    def _make_step(self):
        penalty = self.cfg.regularization_penalty
        smoothing = self.cfg.label_smoothing
        replicas = self.strategy.num_replicas_in_sync

        scaled = isinstance(self.optimizer, tf_keras.mixed_precision.LossScaleOptimizer)

        def replica_step(x, y, w=None):
            with tf.GradientTape() as tape:
                preds = tf.cast(self.model(x, training=True), tf.float32)
                loss = self.loss_fn(y, preds, smoothing, w)
                reg = (tf.add_n([tf.cast(term, tf.float32) for term in self.model.losses])
                       if self.model.losses else 0.0)
                total = (loss + penalty * reg) / replicas
                if scaled:
                    total = self.optimizer.get_scaled_loss(total)
            grads = tape.gradient(total, self.model.trainable_variables)
            if scaled:
                grads = self.optimizer.get_unscaled_gradients(grads)
            self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
            return loss, preds

        @tf.function(reduce_retracing=True)  # an epoch's last batch is smaller: one generic trace
        def step(x, y, w=None):
            # video batches pass (x, y) exactly as before weights existed
            loss, preds = self.strategy.run(replica_step,
                                            args=(x, y) if w is None else (x, y, w))
            loss = self.strategy.reduce(tf.distribute.ReduceOp.MEAN, loss, axis=None)
            labelled = self.strategy.reduce(tf.distribute.ReduceOp.SUM, self.strategy.run(
                lambda t: tf.reduce_sum(tf.cast(tf.reduce_any(t > 0, axis=-1), tf.int64)),
                args=(y,)), axis=None)
            return tf.debugging.check_numerics(loss, NONFINITE_LOSS), preds, labelled

        return step

    def fit(self, dataset: tf.data.Dataset, log=print,
            total_steps: int | None = None) -> TrainResult:
        """Trains over ``dataset`` of (inputs, labels) or (inputs, labels, label weights) until
        it ends or max_steps is reached; the weights [batch, classes] scale each class's loss
        term (segment training: 1 on the rated classes, 0 elsewhere).

        ``total_steps``: the global step training will end at, when the caller knows it (the
        step lines then show progress and an ETA); ``max_steps`` counts as known.
        """
        cfg = self.cfg
        self._total = min(s for s in (total_steps, cfg.max_steps) if s) if (
            total_steps or cfg.max_steps) else None
        if self._clock is None:
            self._clock = (int(self.optimizer.iterations.numpy()), time.time())
        step_fn = self._step_fn = self._step_fn or self._make_step()
        step = int(self.optimizer.iterations.numpy())
        if cfg.max_steps is not None and step >= cfg.max_steps:
            log(f"global step {step} already reached `max_steps` {cfg.max_steps}; nothing to train")
            return TrainResult(step, 0, 0.0, float("nan"))
        if not self._described:  # once per Trainer (the CLI fits once per epoch)
            for line in distribute.describe(self.strategy, self.role, cfg.expected_gpus):
                log(line)
            self._described = True
        dist = self.strategy.experimental_distribute_dataset(dataset)
        start = time.time()
        stop = None
        try:
            with _stop_on_signals() as stop:
                return self._loop(dist, step_fn, step, start, log, stop)
        except KeyboardInterrupt:
            step = int(self.optimizer.iterations.numpy())
            self.manager.save(checkpoint_number=step)
            signum = stop.signum if stop is not None else signal.SIGINT
            how = "terminated (SIGTERM)" if signum == signal.SIGTERM else "interrupted"
            raise TrainingInterrupted(f"{how} at global step {step}; checkpoint saved: the "
                                      "same command resumes from it", signum) from None

    def _loop(self, dist, step_fn, step: int, start: float, log, stop) -> TrainResult:
        cfg = self.cfg
        window_start = start
        examples = window_examples = 0
        logged = step
        loss_value = float("nan")
        labelled = tf.constant(0, tf.int64)
        exhausted = False
        trim = memory.PeriodicTrim()
        for x, y, *w in dist:
            try:
                loss, preds, batch_labelled = step_fn(x, y, *w)
            except tf.errors.InvalidArgumentError as e:
                if NONFINITE_LOSS not in str(e):
                    raise
                raise TrainingDiverged(
                    f"{NONFINITE_LOSS} at global step {step + 1}: nothing exported, no checkpoint "
                    "written for it; lower `base_learning_rate` or check the inputs") from None
            labelled += batch_labelled
            step += 1
            trim()
            n = self._batch_size(y)
            examples += n
            window_examples += n
            if step % cfg.log_every_steps == 0 or step == cfg.max_steps:
                loss_value = float(loss.numpy())
                rate = window_examples / max(time.time() - window_start, 1e-9)
                self._log_step(step, loss_value, self._local(preds), self._local(y), rate, log)
                window_start, window_examples, logged = time.time(), 0, step
            if step % cfg.export_model_steps == 0:
                self.manager.save(checkpoint_number=step)
            if cfg.max_steps is not None and step >= cfg.max_steps:
                break
            if stop.requested:
                raise KeyboardInterrupt
        else:
            exhausted = True
        if examples and logged != step:  # the last step is always logged (and summarized)
            loss_value = float(loss.numpy())
            rate = window_examples / max(time.time() - window_start, 1e-9)
            self._log_step(step, loss_value, self._local(preds), self._local(y), rate, log)
        self.manager.save(checkpoint_number=step)
        if loss_value != loss_value:  # never logged: report the last batch
            loss_value = float(loss.numpy()) if examples else float("nan")
        return TrainResult(step, examples, time.time() - start, loss_value, int(labelled),
                           exhausted)

    def use_averaged_weights(self) -> bool:
        """With --ema_decay, copies the moving averages into the model (call before export)."""
        if not self.cfg.ema_decay:
            return False
        self.optimizer.finalize_variable_values(self.model.trainable_variables)
        return True

    def _local(self, value) -> np.ndarray:
        parts = self.strategy.experimental_local_results(value)
        return np.concatenate([p.numpy() for p in parts])

    def _batch_size(self, y) -> int:
        return sum(int(p.shape[0]) for p in self.strategy.experimental_local_results(y))

    def _progress(self, step: int) -> str:
        """`` | step 120/280 (43%), ETA 1m05s`` when the end is known, else ``""``."""
        if not self._total:
            return ""
        first, since = self._clock
        eta = (time.time() - since) / max(step - first, 1) * max(self._total - step, 0)
        minutes, seconds = divmod(int(round(eta)), 60)
        return (f" | step {step}/{self._total} ({100 * step // self._total}%), ETA "
                f"{f'{minutes}m' if minutes else ''}{seconds:02d}s")

    def _log_step(self, step, loss, preds, labels, rate, log):
        hit1, perr = M.hit_at_one(preds, labels), M.perr(preds, labels)
        gap = M.gap(preds, labels, M.DEFAULT_TOP_K)
        log(f"training step {step} | Loss: {loss:.2f} Examples/sec: {rate:.2f} | Hit@1: {hit1:.2f} "
            f"PERR: {perr:.2f} GAP: {gap:.2f}{self._progress(step)}")
        if self.writer:
            lr = self.optimizer.learning_rate
            lr = float(tf.convert_to_tensor(lr(self.optimizer.iterations) if callable(lr) else lr))
            with self.writer.as_default(step=step):
                for name, value in (("loss", loss), ("hit_at_one", hit1), ("perr", perr),
                                    ("gap", gap), ("examples_per_sec", rate),
                                    ("learning_rate", lr)):
                    tf.summary.scalar(name, value)
            self.writer.flush()


def predict_batches(model, dataset: tf.data.Dataset):
    """Yields (video_ids, predictions [batch, 3862], labels or None) for every batch."""
    @tf.function(reduce_retracing=True)  # the last batch is smaller: one generic trace
    def predict(x):
        return model(x, training=False)

    trim = memory.PeriodicTrim()
    for batch in dataset:
        trim()
        x = {F.FEATURES: batch[F.FEATURES], F.NUM_FRAMES: batch[F.NUM_FRAMES]}
        labels = batch.get(F.LABELS_MULTI_HOT)
        yield (batch[F.VIDEO_ID].numpy(), predict(x).numpy(),
               None if labels is None else labels.numpy())
