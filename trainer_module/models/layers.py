"""Custom tf_keras layers shared by the model zoo (each with get_config for round trips)."""
from __future__ import annotations


import tensorflow as tf
import tf_keras

from trainer_module.data import features as F
from trainer_module.models import model_hparams as MH


FrameSamplingHParams = MH.FrameSamplingHParams


def sample_frames(features, num_frames, hp: FrameSamplingHParams):
    """[b, F, dim] -> [b, iterations, dim]: real frames only (see FrameSampler)."""
    return FrameSampler(hp.iterations, hp.sample_random_frames, name="sample_frames")(
        [features, num_frames])


def l2(penalty: float):
    return tf_keras.regularizers.L2(penalty) if penalty > 0 else None


@tf_keras.utils.register_keras_serializable("yt8m")
class FrameMask(tf_keras.layers.Layer):
    """num_frames [batch] -> bool mask [batch, max_frames] of the real (unpadded) frames."""

    def __init__(self, max_frames: int, **kwargs):
        super().__init__(**kwargs)
        self.max_frames = max_frames

    def call(self, num_frames):
        return tf.sequence_mask(tf.reshape(num_frames, [-1]), self.max_frames)

    def get_config(self):
        return {**super().get_config(), "max_frames": self.max_frames}


@tf_keras.utils.register_keras_serializable("yt8m")
class MaskedMeanPooling(tf_keras.layers.Layer):
    """Mean over the real frames only: ([batch, frames, d], [batch]) -> [batch, d]."""

    def call(self, inputs):
        frames, num_frames = inputs
        mask = tf.sequence_mask(tf.reshape(num_frames, [-1]), tf.shape(frames)[1], frames.dtype)
        total = tf.reduce_sum(frames * mask[:, :, None], axis=1)
        return total / tf.maximum(tf.cast(tf.reshape(num_frames, [-1, 1]), frames.dtype), 1.0)


@tf_keras.utils.register_keras_serializable("yt8m")
class MaskedMaxPooling(tf_keras.layers.Layer):
    """Max over the real frames only: ([batch, frames, d], [batch]) -> [batch, d] (0 without
    frames)."""

    def call(self, inputs):
        frames, num_frames = inputs
        mask = tf.sequence_mask(tf.reshape(num_frames, [-1]), tf.shape(frames)[1])  # [b, F]
        lowest = tf.constant(frames.dtype.min, frames.dtype)
        peak = tf.reduce_max(tf.where(mask[:, :, None], frames, lowest), axis=1)  # [b, d]
        return tf.where(peak > lowest, peak, tf.zeros_like(peak))


@tf_keras.utils.register_keras_serializable("yt8m")
class FrameSampler(tf_keras.layers.Layer):
    """Picks num_samples frames among the real ones: ([b, F, d], [b]) -> [b, num_samples, d].

    Training with ``random=True`` draws frames uniformly (the seed's SampleRandomFrames); otherwise,
    and always at inference, frames are evenly spaced over the video, so predictions are
    deterministic and never read padding.
    """

    def __init__(self, num_samples: int, random: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.num_samples = num_samples
        self.random = random

    def call(self, inputs, training=None):
        frames, num_frames = inputs
        n = tf.cast(tf.maximum(tf.reshape(num_frames, [-1, 1]), 1), tf.float32)  # [b, 1]
        batch = tf.shape(frames)[0]
        if training and self.random:
            pos = tf.random.uniform([batch, self.num_samples]) * n
        else:
            pos = (tf.range(self.num_samples, dtype=tf.float32)[None, :] + 0.5) * n / self.num_samples
        index = tf.minimum(tf.cast(pos, tf.int32), tf.cast(n, tf.int32) - 1)  # [b, S]
        return tf.gather(frames, index, batch_dims=1)

    def get_config(self):
        return {**super().get_config(), "num_samples": self.num_samples, "random": self.random}


@tf_keras.utils.register_keras_serializable("yt8m")
class ContextGating(tf_keras.layers.Layer):
    """x * sigmoid(BN(W x + b)) (Miech et al. 2017): re-weights features by their context.

    With ``reduction`` r > 1 the gates come from a squeeze-and-excitation bottleneck as in
    NeXtVLAD (Lin et al. 2018): sigmoid(W2 ReLU(BN(W1 x))), W1 [d, d / r], W2 [d / r, d].
    """

    def __init__(self, batch_norm: bool = True, l2_penalty: float = 0.0, reduction: int = 1,
                 **kwargs):
        super().__init__(**kwargs)
        if reduction < 1:
            raise ValueError(f"context gating reduction must be >= 1, got {reduction}")
        self.batch_norm = batch_norm
        self.l2_penalty = l2_penalty
        self.reduction = reduction

    def build(self, input_shape):
        policy = self.dtype_policy  # sublayers compute like their parent (float32 heads)
        dim = int(input_shape[-1])
        self.squeeze = None
        if self.reduction > 1:
            self.squeeze = tf_keras.layers.Dense(max(1, dim // self.reduction), use_bias=False,
                                                 kernel_regularizer=l2(self.l2_penalty),
                                                 name="squeeze", dtype=policy)
            self.squeeze_bn = tf_keras.layers.BatchNormalization(name="squeeze_bn", dtype=policy)
        self.dense = tf_keras.layers.Dense(dim, use_bias=self.squeeze is not None or not self.batch_norm,
                                           kernel_regularizer=l2(self.l2_penalty), name="gates",
                                           dtype=policy)
        self.bn = (tf_keras.layers.BatchNormalization(name="gates_bn", dtype=policy)
                   if self.batch_norm and self.squeeze is None else None)
        super().build(input_shape)

    def call(self, x, training=None):
        h = x
        if self.squeeze is not None:
            h = tf.nn.relu(self.squeeze_bn(self.squeeze(x), training=training))  # [b, d / r]
        gates = self.dense(h)  # [b, d]
        if self.bn is not None:
            gates = self.bn(gates, training=training)
        return x * tf.sigmoid(gates)

    def get_config(self):
        return {**super().get_config(), "batch_norm": self.batch_norm,
                "l2_penalty": self.l2_penalty, "reduction": self.reduction}


@tf_keras.utils.register_keras_serializable("yt8m")
class MixtureOfExperts(tf_keras.layers.Layer):
    """The seed's MoE classifier: [batch, d] -> probabilities [batch, num_classes].

    Per class, a softmax gate over num_mixtures logistic experts plus a dummy expert that always
    predicts 0; the output is the gated sum of the experts' sigmoids.
    """

    def __init__(self, num_classes: int = F.NUM_CLASSES, num_mixtures: int = 2,
                 l2_penalty: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.num_mixtures, self.l2_penalty = num_classes, num_mixtures, l2_penalty

    def build(self, input_shape):
        c, m = self.num_classes, self.num_mixtures
        policy = self.dtype_policy  # sublayers compute like their parent (float32 heads)
        self.gates = tf_keras.layers.Dense(c * (m + 1), kernel_regularizer=l2(self.l2_penalty),
                                           name="gates", dtype=policy)
        self.experts = tf_keras.layers.Dense(c * m, kernel_regularizer=l2(self.l2_penalty),
                                             name="experts", dtype=policy)
        super().build(input_shape)

    def call(self, x):
        c, m = self.num_classes, self.num_mixtures
        gating = tf.nn.softmax(tf.reshape(self.gates(x), [-1, c, m + 1]))  # [b, C, M+1]
        experts = tf.sigmoid(tf.reshape(self.experts(x), [-1, c, m]))  # [b, C, M]
        return tf.reduce_sum(gating[:, :, :m] * experts, axis=-1)  # [b, C]

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "num_mixtures": self.num_mixtures, "l2_penalty": self.l2_penalty}


def model_inputs(spec: F.FeatureSpec):
    """The two inputs every model takes: features and num_frames."""
    shape = (spec.max_frames, spec.dim) if spec.frame_level else (spec.dim,)
    features = tf_keras.Input(shape=shape, name=F.FEATURES, dtype=tf.float32)
    num_frames = tf_keras.Input(shape=(), name=F.NUM_FRAMES, dtype=tf.int32)
    return features, num_frames
