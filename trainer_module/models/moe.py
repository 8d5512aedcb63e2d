"""MoeModel (seed): a mixture of logistic experts per class on the video-level features."""
import tf_keras

from trainer_module.models import heads
from trainer_module.models import layers as L

HParams = heads.HeadHParams


def build(spec, hp: HParams) -> tf_keras.Model:
    features, num_frames = L.model_inputs(spec)  # [b, dim], [b]
    probs = heads.moe(features, hp)  # [b, 3862]
    return tf_keras.Model([features, num_frames], probs, name="MoeModel")
