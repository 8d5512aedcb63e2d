"""FrameLevelLogisticModel (seed): logistic regression on the mean of the real frames."""
import tf_keras

from trainer_module.models import heads
from trainer_module.models import layers as L

HParams = heads.L2HParams


def build(spec, hp: HParams) -> tf_keras.Model:
    features, num_frames = L.model_inputs(spec)  # [b, F, dim], [b]
    mean = L.MaskedMeanPooling(name="frame_mean")([features, num_frames])  # [b, dim]
    probs = heads.logistic(mean, hp)  # [b, 3862]
    return tf_keras.Model([features, num_frames], probs, name="FrameLevelLogisticModel")
