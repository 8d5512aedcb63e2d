"""NetVLAD and NeXtVLAD pooling of frame features (tf_keras layers with get_config).

Both take sampled real frames [batch, S, D] (see layers.FrameSampler) and return one descriptor
per video: residuals of every frame to K learned cluster centres, weighted by a soft
assignment, summed over frames, intra-normalized per cluster and L2-normalized.
"""
from __future__ import annotations


import tensorflow as tf
import tf_keras

from trainer_module.models import heads
from trainer_module.models import model_hparams as MH
from trainer_module.models import layers as L

VladHParams = MH.VladHParams


def vlad_classifier(descriptor, hidden_size: int, hp: VladHParams, dropout: float = 0.0,
                    relu_max: float | None = None, gating_reduction: int = 1):
    """Pooled descriptor -> [dropout] -> hidden (BN, ReLU) -> [context gating, optionally
    through an SE bottleneck of ``gating_reduction``] -> classifier."""
    x = descriptor
    if dropout:
        x = tf_keras.layers.Dropout(dropout, name="vlad_dropout")(x)
    x = tf_keras.layers.Dense(hidden_size, use_bias=False, name="hidden")(x)
    x = tf_keras.layers.BatchNormalization(name="hidden_bn")(x)
    x = tf_keras.layers.ReLU(max_value=relu_max, name="hidden_relu")(x)  # [b, H]
    if hp.vlad_context_gating:
        x = L.ContextGating(batch_norm=True, reduction=gating_reduction, name="context_gating")(x)
    return heads.classify(hp.video_level_classifier_model, x, hp)  # [b, 3862]


@tf_keras.utils.register_keras_serializable("yt8m")
class NetVladPooling(tf_keras.layers.Layer):
    """NetVLAD (Arandjelovic et al. 2016; Willow's YT8M model): [b, S, D] -> [b, K * D]."""

    def __init__(self, cluster_size: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.cluster_size = cluster_size

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.assign = tf_keras.layers.Dense(self.cluster_size, use_bias=False, name="assign")
        self.assign_bn = tf_keras.layers.BatchNormalization(name="assign_bn")
        self.centers = self.add_weight(name="centers", shape=(self.cluster_size, dim),
                                       initializer="glorot_uniform")
        super().build(input_shape)

    def call(self, x, training=None):
        a = tf.nn.softmax(self.assign_bn(self.assign(x), training=training))  # [b, S, K]
        vlad = tf.einsum("bsk,bsd->bkd", a, x)  # [b, K, D]
        vlad -= tf.reduce_sum(a, axis=1)[:, :, None] * self.centers[None]  # minus a_k * c_k
        vlad = tf.math.l2_normalize(vlad, axis=-1)  # intra-normalization per cluster
        flat = tf.reshape(vlad, [-1, self.cluster_size * self.centers.shape[-1]])
        return tf.math.l2_normalize(flat, axis=-1)

    def get_config(self):
        return {**super().get_config(), "cluster_size": self.cluster_size}


@tf_keras.utils.register_keras_serializable("yt8m")
class NextVladPooling(tf_keras.layers.Layer):
    """NeXtVLAD (Lin et al. 2018): expand D by ``expansion``, split into ``groups`` lower-dim
    groups with a sigmoid attention each, soft-assign every group to K clusters and aggregate
    residuals over frames and groups: [b, S, D] -> [b, K * expansion * D / groups]."""

    def __init__(self, cluster_size: int = 64, groups: int = 8, expansion: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.cluster_size, self.groups, self.expansion = cluster_size, groups, expansion

    def build(self, input_shape):
        dim = int(input_shape[-1]) * self.expansion
        if dim % self.groups:
            raise ValueError(f"`nextvlad_groups` {self.groups} must divide the expanded feature "
                             f"size {dim}")
        self.group_dim = dim // self.groups
        self.expand = tf_keras.layers.Dense(dim, name="expand")
        self.attention = tf_keras.layers.Dense(self.groups, activation="sigmoid", name="attention")
        self.assign = tf_keras.layers.Dense(self.groups * self.cluster_size, use_bias=False,
                                            name="assign")
        self.assign_bn = tf_keras.layers.BatchNormalization(name="assign_bn")
        self.centers = self.add_weight(name="centers", shape=(self.cluster_size, self.group_dim),
                                       initializer="glorot_uniform")
        super().build(input_shape)

    def call(self, x, training=None):
        x = self.expand(x)  # [b, S, λD]
        s = tf.shape(x)[1]
        attention = self.attention(x)  # [b, S, G]
        logits = self.assign_bn(self.assign(x), training=training)
        a = tf.nn.softmax(tf.reshape(logits, [-1, s, self.groups, self.cluster_size]))  # [b,S,G,K]
        a = a * attention[..., None]
        grouped = tf.reshape(x, [-1, s, self.groups, self.group_dim])  # [b, S, G, λD/G]
        vlad = tf.einsum("bsgk,bsgd->bkd", a, grouped)  # [b, K, λD/G]
        vlad -= tf.reduce_sum(a, axis=[1, 2])[:, :, None] * self.centers[None]
        vlad = tf.math.l2_normalize(vlad, axis=-1)
        return tf.reshape(vlad, [-1, self.cluster_size * self.group_dim])

    def get_config(self):
        return {**super().get_config(), "cluster_size": self.cluster_size, "groups": self.groups,
                "expansion": self.expansion}
