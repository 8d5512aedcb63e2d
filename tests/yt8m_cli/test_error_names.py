"""The library names config fields; the CLI shows each as the flag that sets it."""
import pytest

from pipeline.config import PipelineConfig
from yt8m_cli.main import main


@pytest.mark.parametrize("argv, library_kwargs, cli_text, library_text", [
    (["--dnn_dropout", "1.5"], {"hparams": {"dnn_dropout": 1.5}},
     "--dnn_dropout must be in [0.0, 1.0), got 1.5",
     "`hparams.dnn_dropout` must be in [0.0, 1.0), got 1.5"),
    (["--gpu_count", "1"], {"gpu_count": 1},
     "--gpu_type and --gpu_count go together", "`gpu_type` and `gpu_count` go together"),
    (["--top_k", "21"], {"top_k": 21}, "--top_k must be between 1 and 20, got 21",
     "`top_k` must be between 1 and 20, got 21"),
    (["--model", "DbofModel"], {"model": "DbofModel"},
     "--model DbofModel needs frame-level data (--frame_features)",
     "`model` DbofModel needs frame-level data (`frame_features`)"),
])
def test_a_field_error_names_the_flag_on_the_cli_and_the_field_in_the_library(
        argv, library_kwargs, cli_text, library_text, tmp_path, capsys):
    with pytest.raises(ValueError) as raised:
        PipelineConfig.of(data_dir="gs://bucket/data", image="img", **library_kwargs)
    assert library_text in str(raised.value)
    assert main(["pipeline", "compile", "--data_dir", "gs://bucket/data", "--image", "img",
                 "--output", str(tmp_path / "p.json"), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"yt8m pipeline: error: {err[0].split('error: ', 1)[1]}"] and cli_text in err[0]


def test_a_field_without_a_flag_keeps_its_config_name(tmp_path, capsys):
    """gap_change_tolerance is a config key only: the CLI cannot name a flag for it."""
    config = tmp_path / "c.json"
    config.write_text('{"data_dir": "gs://bkt/d", "image": "i", "gap_change_tolerance": -1}')
    assert main(["pipeline", "compile", "--config", str(config)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"yt8m pipeline: error: {config}: gap_change_tolerance must be >= 0, got -1.0")


@pytest.mark.parametrize("command", [
    ["train", "--train_data_pattern", "x*", "--train_dir", "{tmp}/t"],
    ["pipeline", "compile", "--data_dir", "gs://bucket/data", "--image", "img", "--output",
     "{tmp}/p.json"]])
def test_an_earlier_hyperparameter_name_is_refused_naming_the_new_one(command, tmp_path, capsys):
    """dnn_head (and vlad_classifier_model) are now video_level_classifier_model: the flag, the
    pipeline's config key and the library each say so in one line; nothing runs."""
    argv = [a.replace("{tmp}", str(tmp_path)) for a in command]
    assert main([*argv, "--dnn_head", "MoeModel"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith(
        "--dnn_head is now --video_level_classifier_model (one name for the setting in every "
        "model)"), err
    assert not (tmp_path / "t").exists() and not (tmp_path / "p.json").exists()
    with pytest.raises(ValueError, match="`hparams.dnn_head` is now "
                                         "`hparams.video_level_classifier_model`"):
        PipelineConfig.of(data_dir="gs://bucket/data", image="img", hparams={"dnn_head": "MoeModel"})
    config = tmp_path / "c.json"
    config.write_text('{"data_dir": "gs://bkt/d", "image": "i", "hparams": '
                      '{"nextvlad_dropout": 0.1}, "frame_features": true, '
                      '"model": "NeXtVladModel"}')
    assert main(["pipeline", "compile", "--config", str(config)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"yt8m pipeline: error: {config}: hparams.nextvlad_dropout is now hparams.vlad_dropout "
        "(one name for the setting in every model)")
