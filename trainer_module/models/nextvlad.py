"""NeXtVladModel (Lin et al. 2018, 3rd place 2018 with a 1 GB budget): sampled frames ->
NeXtVLAD (expansion, groups with attention, clusters) -> dropout (0.5) -> hidden layer with
batch norm -> context gating through a squeeze-and-excitation bottleneck (reduction 8) -> the
video-level classifier (gated MoE by default), as in the authors' model, except for a ReLU after
the hidden layer (their linear one trained worse here: benchmarks/README.md)."""

import tf_keras

from trainer_module.models import model_hparams as MH
from trainer_module.models import layers as L
from trainer_module.models import vlad_layers as V


HParams = MH.NeXtVladHParams


def build(spec, hp: HParams) -> tf_keras.Model:
    features, num_frames = L.model_inputs(spec)  # [b, F, dim], [b]
    x = L.sample_frames(features, num_frames, hp)  # [b, S, dim]
    x = V.NextVladPooling(hp.nextvlad_cluster_size, hp.nextvlad_groups,
                          hp.nextvlad_expansion, name="nextvlad")(x)  # [b, K * λdim / G]
    probs = V.vlad_classifier(x, hp.nextvlad_hidden_size, hp, dropout=hp.vlad_dropout,
                              gating_reduction=hp.nextvlad_gating_reduction)
    # probs: [b, 3862]
    return tf_keras.Model([features, num_frames], probs, name="NeXtVladModel")
