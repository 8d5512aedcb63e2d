"""Per-model training defaults: seed models keep the seed's, explicit flags always win."""
import pytest

from trainer_module import models
from yt8m_cli import cmd_train
from yt8m_cli.main import build_parser


def _job(*flags):
    args = build_parser().parse_args(["train", "--train_data_pattern", "x*", "--train_dir", "t",
                                      *flags])
    return cmd_train.build_job(args)


@pytest.mark.parametrize("model", ["LogisticModel", "MoeModel", "FrameLevelLogisticModel",
                                   "DbofModel", "LstmModel"])
def test_seed_models_keep_seed_defaults(model):
    frame = ["--frame_features"] if models.get(model).frame_level else []
    cfg = _job("--model", model, *frame).train
    assert (cfg.batch_size, cfg.base_learning_rate, cfg.num_epochs) == (1024, 0.01, 5)
    assert (cfg.learning_rate_decay, cfg.learning_rate_decay_examples) == (0.95, 4_000_000)
    assert cfg.min_steps == 0  # the seed's epochs, whatever the data


def test_default_video_model_and_its_defaults():
    job = _job()
    assert job.flags.model == models.DEFAULT_VIDEO_MODEL == "GatedDnnModel"
    cfg = job.train
    assert (cfg.batch_size, cfg.base_learning_rate, cfg.num_epochs) == (256, 0.001, 8)
    assert cfg.min_steps == 140 and _job("--min_steps", "0").train.min_steps == 0
    assert job.flags.hparams["dnn_hidden_size"] == 2048
    assert _job("--frame_features").flags.model == models.DEFAULT_FRAME_MODEL


def test_explicit_flags_override_model_defaults():
    job = _job("--batch_size", "32", "--base_learning_rate", "0.05", "--num_epochs", "2",
               "--dnn_hidden_size", "64", "--label_smoothing", "0.1")
    cfg = job.train
    assert (cfg.batch_size, cfg.base_learning_rate, cfg.num_epochs) == (32, 0.05, 2)
    assert job.flags.hparams["dnn_hidden_size"] == 64 and cfg.label_smoothing == 0.1
    # an override of one setting leaves the model's other defaults in place
    assert _job("--batch_size", "8").train.base_learning_rate == 0.001


def test_train_and_pipeline_have_a_flag_for_every_training_setting():
    """One declaration (flags.add_training_flags) for every TrainConfig setting: yt8m train and
    yt8m pipeline run/compile both take them, under the config's names."""
    from pipeline.config import TRAINING_KEYS
    from yt8m_cli import flags as FL

    assert set(FL.TRAINING_HELP) == set(TRAINING_KEYS)
    parser = build_parser()
    for argv in (["train", "--train_data_pattern", "x", "--train_dir", "t"],
                 ["pipeline", "run", "--data_dir", "d"], ["pipeline", "compile"]):
        args = parser.parse_args([*argv, "--optimizer", "RMSPropOptimizer", "--seed", "4",
                                  "--mixed_precision"])
        assert (args.optimizer, args.seed, args.mixed_precision, args.batch_size) == (
            "RMSPropOptimizer", 4, True, None)
    job = _job("--optimizer", "RMSPropOptimizer", "--clip_gradient_norm", "0.5")
    assert (job.train.optimizer, job.train.clip_gradient_norm) == ("RMSPropOptimizer", 0.5)
