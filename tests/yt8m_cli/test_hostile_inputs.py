"""Hostile input and faults, one or more tests per kind (the list in docs/hostile_inputs.md):
each asserts the exit status, the one-line message naming the input, and that nothing was
lost, overwritten or left partial."""
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from trainer_module.export import archive
from yt8m_cli.main import main

TRAIN = ["--model", "LogisticModel", "--batch_size", "8", "--no_metagraph"]


@pytest.fixture(scope="module")
def trained(tiny_data, tmp_path_factory):
    """A tiny trained train_dir and its model .tgz."""
    base = tmp_path_factory.mktemp("hostile")
    train_dir = str(base / "train_dir")
    pattern = os.path.join(tiny_data, "video", "train*.tfrecord")
    assert main(["train", "--train_data_pattern", pattern, "--train_dir", train_dir,
                 "--num_epochs", "1", *TRAIN]) == 0
    tgz = str(base / "model.tgz")
    assert main(["inference", "--train_dir", train_dir, "--output_model_tgz", tgz]) == 0
    return train_dir, tgz, tiny_data


def _one_line(capsys, *needles) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    for needle in needles:
        assert needle in err[0], err[0]
    return err[0]


def _examples(path, examples):
    import tensorflow as tf
    with tf.io.TFRecordWriter(str(path)) as writer:
        for ex in examples:
            writer.write(ex if isinstance(ex, bytes) else ex.SerializeToString())
    return str(path)


def _video(vid=b"abcd", labels=(1,), value=0.1):
    import tensorflow as tf
    ex = tf.train.Example()
    ex.features.feature["id"].bytes_list.value.append(vid)
    ex.features.feature["labels"].int64_list.value.extend(labels)
    ex.features.feature["mean_rgb"].float_list.value.extend([value] * 1024)
    ex.features.feature["mean_audio"].float_list.value.extend([0.1] * 128)
    return ex


def _snapshot(folder) -> dict:
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = f.read()
    return out


# 1. Archives -------------------------------------------------------------------------------
def _escape_tgz(path, payload_name="outside/pwned.txt"):
    """The CVE-2025-4517 pattern: a chain of short symlinks to 247-character folders makes
    ``realpath`` give up (PATH_MAX) and resolve textually, so a link that looks inside the
    destination points one level above it."""
    comp, steps = "d" * 247, "abcdefghijklmnop"
    with tarfile.open(path, "w:gz") as tar:
        def add(name, kind, link=""):
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mode = kind, link, 0o755
            tar.addfile(info)
        prefix = ""
        for s in steps:
            add(os.path.join(prefix, comp), tarfile.DIRTYPE)
            add(os.path.join(prefix, s), tarfile.SYMTYPE, comp)
            prefix = os.path.join(prefix, comp)
        long_link = os.path.join(*steps, "l" * 254)
        add(long_link, tarfile.SYMTYPE, "../" * len(steps))
        add("escape", tarfile.SYMTYPE, long_link + "/../")
        payload = b"written outside the destination\n"
        info = tarfile.TarInfo(f"escape/{payload_name}")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return str(path)


def test_archive_escape_through_chained_long_symlinks(tmp_path, capsys):
    (tmp_path / "work" / "outside").mkdir(parents=True)
    evil = _escape_tgz(tmp_path / "evil.tgz")
    dest = tmp_path / "work" / "dest"
    assert main(["inference", "--input_model_tgz", evil, "--untar_model_dir", str(dest),
                 "--output_model_tgz", str(tmp_path / "out.tgz")]) == 2
    _one_line(capsys, "evil.tgz: member 'a': refused: link to", "a model archive holds no links")
    assert list((tmp_path / "work" / "outside").iterdir()) == []  # nothing escaped
    assert not dest.exists() and not (tmp_path / "out.tgz").exists()
    assert sorted(os.listdir(tmp_path / "work")) == ["outside"]  # no staging folder left


def _tgz(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return str(path)


def test_archive_bomb_member_count_and_existing_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(archive, "RATIO_FLOOR_BYTES", 1 << 20)
    bomb = _tgz(tmp_path / "bomb.tgz", [("model_flags.json", b"{}"),
                                        ("zeros.bin", b"\0" * (8 << 20))])
    assert os.path.getsize(bomb) < 100_000
    dest = tmp_path / "dest"
    assert main(["inference", "--input_model_tgz", bomb, "--untar_model_dir", str(dest),
                 "--output_model_tgz", str(tmp_path / "o.tgz")]) == 2
    _one_line(capsys, "bomb.tgz: member 'zeros.bin': refused: expands more than 200x")
    assert not dest.exists()

    monkeypatch.setattr(archive, "MAX_MEMBERS", 100)
    many = _tgz(tmp_path / "many.tgz", [(f"f{i}", b"x") for i in range(150)])
    assert main(["inference", "--input_model_tgz", many, "--untar_model_dir", str(dest),
                 "--output_model_tgz", str(tmp_path / "o.tgz")]) == 2
    _one_line(capsys, "many.tgz: member 'f100': refused: more than 100 members")

    existing = tmp_path / "existing_train_dir"
    existing.mkdir()
    (existing / "model_flags.json").write_text('{"mine": 1}')
    good = _tgz(tmp_path / "good.tgz", [("model_flags.json", b"{}")])
    assert main(["inference", "--input_model_tgz", good, "--untar_model_dir", str(existing),
                 "--output_model_tgz", str(tmp_path / "o.tgz")]) == 2
    _one_line(capsys, "existing_train_dir: refusing to unpack", "non-empty")
    assert (existing / "model_flags.json").read_text() == '{"mine": 1}'  # untouched

    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"\x1f\x8b\x08\0garbage")
    assert main(["inference", "--input_model_tgz", str(junk), "--untar_model_dir",
                 str(tmp_path / "d2"), "--output_model_tgz", str(tmp_path / "o.tgz")]) == 2
    _one_line(capsys, "junk.tgz: not a readable .tgz")


# 2. --start_new_model --------------------------------------------------------------------------
def test_start_new_model_removes_only_what_training_wrote(trained, tmp_path, capsys):
    _, _, data = trained
    pattern = os.path.join(data, "video", "train*.tfrecord")
    dataset = tmp_path / "my_dataset"
    shutil.copytree(os.path.join(data, "video"), dataset)
    before = _snapshot(dataset)
    assert main(["train", "--train_data_pattern", pattern, "--train_dir", str(dataset),
                 "--start_new_model", *TRAIN]) == 2
    _one_line(capsys, f"--train_dir {dataset} holds", "not a train_dir written by `yt8m train`")
    assert _snapshot(dataset) == before  # nothing deleted

    train_dir = tmp_path / "t"
    assert main(["train", "--train_data_pattern", pattern, "--train_dir", str(train_dir),
                 "--max_steps", "1", *TRAIN]) == 0
    (train_dir / "my_notes.txt").write_text("keep me")
    assert main(["train", "--train_data_pattern", pattern, "--train_dir", str(train_dir),
                 "--max_steps", "1", "--start_new_model", *TRAIN]) == 0
    assert "starting global step 0" in capsys.readouterr().out
    assert (train_dir / "my_notes.txt").read_text() == "keep me"


# 3. Outputs over inputs ----------------------------------------------------------------------------
def test_no_command_writes_over_its_inputs(trained, tmp_path, capsys):
    train_dir, tgz, data = trained
    shard = tmp_path / "shard.tfrecord"
    shutil.copy(os.path.join(data, "video", "test0000.tfrecord"), shard)
    before = shard.read_bytes()
    assert main(["inference", "--input_data_pattern", str(shard), "--train_dir", train_dir,
                 "--output_file", str(shard)]) == 2
    _one_line(capsys, f"--output_file {shard} is also an input (--input_data_pattern)")
    assert shard.read_bytes() == before
    tgz_bytes = open(tgz, "rb").read()
    assert main(["inference", "--input_model_tgz", tgz, "--output_model_tgz", tgz]) == 2
    _one_line(capsys, "--output_model_tgz", "is also an input (--input_model_tgz)")
    assert open(tgz, "rb").read() == tgz_bytes
    labels = os.path.join(data, "validate_labels.csv")
    labels_bytes = open(labels, "rb").read()
    assert main(["score", "--predictions", labels, "--labels", labels, "--output_json",
                 labels]) == 2
    _one_line(capsys, "--output_json", "is also an input")
    assert open(labels, "rb").read() == labels_bytes


# 4. Video ids in the CSV ------------------------------------------------------------------------
def test_ids_are_quoted_and_read_back_empty_ids_refused(trained, tmp_path, capsys):
    train_dir, _, _ = trained
    ids = [b'a,b', b'say "hi"', b"line\nbreak", b"plain"]
    shard = _examples(tmp_path / "odd.tfrecord", [_video(v, (i + 1,)) for i, v in enumerate(ids)])
    out = tmp_path / "p.csv"
    assert main(["inference", "--input_data_pattern", shard, "--train_dir", train_dir,
                 "--output_file", str(out)]) == 0
    labels = tmp_path / "labels.csv"
    labels.write_text("VideoId,Labels\n" + "".join(
        '"{}",{}\n'.format(v.decode().replace('"', '""'), i + 1) for i, v in enumerate(ids)))
    metrics = tmp_path / "m.json"
    assert main(["score", "--predictions", str(out), "--labels", str(labels),
                 "--output_json", str(metrics)]) == 0
    result = json.loads(metrics.read_text())
    assert result["num_matched"] == 4 and result["missing_predictions"] == 0

    capsys.readouterr()
    empty = _examples(tmp_path / "empty_id.tfrecord", [_video(b"ok"), _video(b"")])
    assert main(["inference", "--input_data_pattern", empty, "--train_dir", train_dir,
                 "--output_file", str(tmp_path / "e.csv")]) == 2
    _one_line(capsys, f"{empty}: record 1: empty video id")
    assert not (tmp_path / "e.csv").exists()
    bad_utf8 = _examples(tmp_path / "utf8.tfrecord", [_video(b"\xff\xfe")])
    assert main(["inference", "--input_data_pattern", bad_utf8, "--train_dir", train_dir,
                 "--output_file", str(tmp_path / "u.csv")]) == 2
    _one_line(capsys, f"{bad_utf8}: record 0: video id", "is not valid UTF-8")


# 5. Non-finite values ----------------------------------------------------------------------------
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_features_are_named(trained, tmp_path, capsys, value):
    train_dir, _, _ = trained
    shard = _examples(tmp_path / "nan.tfrecord", [_video(b"a"), _video(b"b", value=value)])
    metrics = os.path.join(train_dir, "eval", "metrics.json")
    for args in (["train", "--train_data_pattern", shard, "--train_dir", str(tmp_path / "t"),
                  *TRAIN],
                 ["eval", "--eval_data_pattern", shard, "--train_dir", train_dir, "--run_once"],
                 ["inference", "--input_data_pattern", shard, "--train_dir", train_dir,
                  "--output_file", str(tmp_path / "p.csv")]):
        before = open(metrics).read() if os.path.exists(metrics) else None
        assert main(args) == 2, args
        _one_line(capsys, f"{shard}: record 1: features mean_rgb,mean_audio: NaN or infinity")
        assert (open(metrics).read() if os.path.exists(metrics) else None) == before
    assert not (tmp_path / "p.csv").exists() and not (tmp_path / "t" / "export").exists()


def test_diverging_training_stops_and_exports_nothing(trained, tmp_path, capsys):
    _, _, data = trained
    pattern = os.path.join(data, "video", "train*.tfrecord")
    train_dir = tmp_path / "t"
    assert main(["train", "--train_data_pattern", pattern, "--train_dir", str(train_dir),
                 "--base_learning_rate", "3e38", "--clip_gradient_norm", "0",
                 "--regularization_penalty", "0", "--optimizer", "SGD", *TRAIN]) == 2
    _one_line(capsys, "training loss is NaN or infinite at global step", "nothing exported")
    assert not (train_dir / "export").exists()


def test_non_finite_weights_are_never_exported(tmp_path):
    import tf_keras
    from trainer_module.export import saved_model as export
    model = tf_keras.Sequential([tf_keras.layers.Dense(2, input_shape=(3,))])
    weights = model.get_weights()
    weights[0][0, 0] = np.nan
    model.set_weights(weights)
    with pytest.raises(ValueError, match="holds NaN or infinity: not exported"):
        export.export_saved_model(model, str(tmp_path / "m"), lambda x: x)
    assert not (tmp_path / "m").exists()


def test_json_outputs_are_strict(tmp_path):
    from trainer_module import io_utils
    with pytest.raises(ValueError):
        io_utils.write_json(str(tmp_path / "m.json"), {"gap": float("nan")})
    assert not (tmp_path / "m.json").exists() and list(tmp_path.iterdir()) == []


# 6. Unlabelled data --------------------------------------------------------------------------------
def test_unlabelled_split_is_refused(trained, tmp_path, capsys):
    train_dir, _, data = trained
    test_split = os.path.join(data, "video", "test*.tfrecord")
    metrics = os.path.join(train_dir, "eval", "metrics.json")
    before = open(metrics).read() if os.path.exists(metrics) else None
    assert main(["train", "--train_data_pattern", test_split, "--train_dir",
                 str(tmp_path / "t"), *TRAIN]) == 2
    _one_line(capsys, "training videos", "has a label: an unlabelled split")
    assert not (tmp_path / "t" / "export").exists()
    assert main(["eval", "--eval_data_pattern", test_split, "--train_dir", train_dir,
                 "--run_once"]) == 2
    _one_line(capsys, "has a label: an unlabelled split (test?) cannot be evaluated")
    assert (open(metrics).read() if os.path.exists(metrics) else None) == before


def test_one_unlabelled_video_in_a_batch_of_one(tmp_path):
    shard = _examples(tmp_path / "mixed.tfrecord", [_video(b"a", (3,)), _video(b"b", ())])
    train_dir = tmp_path / "t"
    assert main(["train", "--train_data_pattern", shard, "--train_dir", str(train_dir),
                 "--model", "LogisticModel", "--batch_size", "1", "--no_metagraph"]) == 0
    from trainer_module.data import parsing
    import tensorflow as tf
    labels = parsing.multi_hot(tf.sparse.from_dense(tf.zeros([1, 0], tf.int64)))
    assert labels.shape == (1, 3862) and float(tf.reduce_min(labels)) == 0.0  # not -inf
    exported = os.listdir(train_dir / "export")
    assert len(exported) == 1


# 7. Float flags and config fields ---------------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_float_flags_must_be_finite(trained, tmp_path, capsys, value):
    _, _, data = trained
    assert main(["train", "--train_data_pattern", os.path.join(data, "video", "train*"),
                 "--train_dir", str(tmp_path / "t"), f"--base_learning_rate={value}", *TRAIN]) == 2
    _one_line(capsys, "--base_learning_rate must be a finite number")
    assert not (tmp_path / "t").exists()
    config = tmp_path / "c.json"
    config.write_text(f'{{"data_dir": "d", "base_learning_rate": {value.replace("nan", "NaN").replace("inf", "Infinity")}}}')
    assert main(["pipeline", "run", "--config", str(config)]) == 2
    _one_line(capsys, f"{config}: base_learning_rate must be a finite number")


# 8. Level mismatch ------------------------------------------------------------------------------------
def test_frame_model_on_video_records_and_back(trained, tmp_path, capsys):
    _, _, data = trained
    video = os.path.join(data, "video", "train0000.tfrecord")
    frame = os.path.join(data, "frame", "train0000.tfrecord")
    assert main(["train", "--frame_features", "--model", "FrameLevelLogisticModel",
                 "--train_data_pattern", video, "--train_dir", str(tmp_path / "t")]) == 2
    _one_line(capsys, f"{video}: record 0: a video-level tf.Example (no frame feature lists)")
    assert main(["train", "--model", "LogisticModel", "--train_data_pattern", frame,
                 "--train_dir", str(tmp_path / "t2")]) == 2
    _one_line(capsys, f"{frame}: record 0: a frame-level tf.SequenceExample")
    junk = tmp_path / "junk.tfrecord"
    _examples(junk, [b"\xff\x01not a protocol buffer"])
    assert main(["train", "--model", "LogisticModel", "--train_data_pattern", str(junk),
                 "--train_dir", str(tmp_path / "t3")]) == 2
    _one_line(capsys, f"{junk}: record 0: not a tf.Example or tf.SequenceExample")


# 9. Checkpoints that do not fit ---------------------------------------------------------------------
def test_eval_refuses_a_checkpoint_of_another_model_and_a_truncated_one(trained, tmp_path, capsys):
    train_dir, _, data = trained
    other = tmp_path / "other"
    shutil.copytree(train_dir, other)
    flags = json.loads((other / "model_flags.json").read_text())
    flags.update(model="MoeModel", hparams={"moe_num_mixtures": 2})
    (other / "model_flags.json").write_text(json.dumps(flags))
    pattern = os.path.join(data, "video", "validate*.tfrecord")
    assert main(["eval", "--eval_data_pattern", pattern, "--train_dir", str(other),
                 "--run_once"]) == 2
    _one_line(capsys, "does not fit the MoeModel of model_flags.json")
    assert not (other / "eval" / "metrics.json").exists()

    truncated = tmp_path / "truncated"
    shutil.copytree(train_dir, truncated)
    import tensorflow as tf
    data_file = tf.train.latest_checkpoint(str(truncated)) + ".data-00000-of-00001"
    with open(data_file, "r+b") as f:
        f.truncate(100)
    assert main(["eval", "--eval_data_pattern", pattern, "--train_dir", str(truncated),
                 "--run_once"]) == 2
    _one_line(capsys, "is unreadable (truncated or damaged")


# 10. Concurrent pipeline runs, killed runs ----------------------------------------------------------
def test_a_second_run_on_one_pipeline_root_is_refused(trained, tmp_path, capsys):
    from pipeline import outcome
    root = tmp_path / "root"
    root.mkdir()
    with outcome.run_lock(str(root / "metadata.sqlite")):
        assert main(["pipeline", "run", "--data_dir", trained[2], "--pipeline_root",
                     str(root)]) == 2
    _one_line(capsys, "is in use by another `yt8m pipeline run` (pid", str(os.getpid()))
    assert outcome.run_in_progress(str(root / "metadata.sqlite")) is False


def test_a_killed_run_shows_as_killed(tmp_path, capsys):
    from ml_metadata.proto import metadata_store_pb2 as pb
    from pipeline import metadata, outcome
    path = str(tmp_path / "metadata.sqlite")
    store = metadata.open_store(path)
    run_type = store.put_context_type(pb.ContextType(name="pipeline_run"))
    node_type = store.put_context_type(pb.ContextType(name="node"))
    exec_type = store.put_execution_type(pb.ExecutionType(name="Trainer"))
    [execution] = store.put_executions([pb.Execution(type_id=exec_type,
                                                     last_known_state=pb.Execution.RUNNING)])
    run, node = store.put_contexts([pb.Context(type_id=run_type, name="run-1"),
                                    pb.Context(type_id=node_type, name="yt8m.Trainer")])
    store.put_attributions_and_associations([], [pb.Association(context_id=c, execution_id=execution)
                                                 for c in (run, node)])
    assert main(["runs", "--pipeline_root", str(tmp_path)]) == 0
    assert "KILLED: Trainer" in capsys.readouterr().out
    with outcome.run_lock(path):
        assert main(["runs", "--pipeline_root", str(tmp_path)]) == 0
        assert "1 running" in capsys.readouterr().out


# 11. One-line errors -----------------------------------------------------------------------------------
def test_config_values_of_the_wrong_type_name_the_key(tmp_path, capsys):
    for body, needle in (('{"data_dir": null}', "data_dir must not be null"),
                         ('{"data_dir": "d", "batch_size": "64"}', "batch_size must be an integer"),
                         ('{"data_dir": "d", "top_k": [20]}', "top_k must be an integer"),
                         ('{"data_dir": "d", "beam_args": "--x"}', "beam_args must be a list"),
                         ('{"data_dir": "d", "float16_tgz": "yes"}',
                          "float16_tgz must be true or false"),
                         ('[1, 2]', "expected a JSON object")):
        config = tmp_path / "c.json"
        config.write_text(body)
        assert main(["pipeline", "compile", "--config", str(config)]) == 2, body
        _one_line(capsys, f"{config}: ", needle)


@pytest.mark.parametrize("write, needle", [
    (lambda p: p.write_text('{"data_dir": "d"}', encoding="utf-16"),
     "config {p}: not UTF-8 text at byte 0"),
    (lambda p: p.write_text('{"data_dir": "' + "x" * (2 << 20) + '"}'),
     "{p}: 2,097,168 bytes; a config is a few KB"),
    (lambda p: p.write_text("[" * 100_000 + "]" * 100_000),
     "{p}: not a config (JSON nested too deeply)"),
    (lambda p: p.write_text('{"data_dir": "d", "batch_size": -5}'),
     "{p}: batch_size must be >= 1, got -5"),
    (lambda p: p.write_text('{"data_dir": "d", "pipeline_name": "a%b"}'),
     "{p}: pipeline_name 'a%b' is not a pipeline name"),
    (lambda p: p.write_text('{"data_dir": "d", "pipeline_name": "' + "n" * 500_000 + '"}'),
     "{p}: pipeline_name '" + "n" * 25 + "..." + "n" * 52 + "' is not a pipeline name"),
])
def test_a_config_that_is_not_one(tmp_path, capsys, write, needle):
    """Bounded in size and depth, read as UTF-8 (BOM accepted), every error naming the file and
    the key (not a flag), a name cut to 80 characters (round 3)."""
    config = tmp_path / "c.json"
    write(config)
    assert main(["pipeline", "compile", "--config", str(config)]) == 2
    line = _one_line(capsys, needle.format(p=config))
    assert len(line) < 400 and "--batch_size" not in line
    config.write_bytes(b"\xef\xbb\xbf{\"data_dir\": \"gs://bkt/d\", \"pipeline_root\": \"gs://bkt/r\"}")
    assert main(["pipeline", "compile", "--config", str(config), "--image", "i:1", "--output",
                 str(tmp_path / "p.json")]) == 0


def test_os_errors_and_bad_batch_sizes_are_one_line(trained, tmp_path, capsys):
    train_dir, _, data = trained
    shard = os.path.join(data, "video", "test0000.tfrecord")
    folder = tmp_path / "a_folder.csv"
    folder.mkdir()
    assert main(["inference", "--input_data_pattern", shard, "--train_dir", train_dir,
                 "--output_file", str(folder)]) == 2
    _one_line(capsys, "a_folder.csv")
    assert main(["inference", "--input_data_pattern", shard, "--train_dir", train_dir,
                 "--output_file", str(tmp_path / "p.csv"), "--batch_size", "0"]) == 2
    _one_line(capsys, "--batch_size must be >= 1, got 0")
    damaged = tmp_path / "root"
    damaged.mkdir()
    (damaged / "metadata.sqlite").write_bytes(b"this is not a database" * 100)
    assert main(["runs", "--pipeline_root", str(damaged)]) == 2
    _one_line(capsys, "yt8m runs: error:")


def test_first_line_is_the_real_one(tmp_path):
    """No TensorFlow start-up lines (cuDNN/cuFFT/cuBLAS factories) or deprecation warnings
    before the error: a fresh process, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run([sys.executable, "-m", "yt8m_cli.main", "train", "--train_data_pattern",
                           str(tmp_path / "none*.tfrecord"), "--train_dir", str(tmp_path / "t")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"yt8m train: error: --train_data_pattern: no files match "
        f"{str(tmp_path / 'none*.tfrecord')!r}"]


# 12. Interrupts, debris, resume ---------------------------------------------------------------------
@pytest.mark.parametrize("signum, status, said", [
    (signal.SIGINT, 130, "interrupted at global step"),
    (signal.SIGTERM, 143, "terminated (SIGTERM) at global step")])  # a preempted pod or node
def test_ctrl_c_or_sigterm_saves_a_checkpoint(tiny_data, tmp_path, signum, status, said):
    train_dir = tmp_path / "t"
    pattern = os.path.join(tiny_data, "video", "train*.tfrecord")
    proc = subprocess.Popen(
        [sys.executable, "-m", "yt8m_cli.main", "train", "--train_data_pattern", pattern,
         "--train_dir", str(train_dir), "--model", "LogisticModel", "--batch_size", "2",
         "--num_epochs", "1000", "--log_every_steps", "1", "--no_metagraph"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**{k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
             "PYTHONUNBUFFERED": "1"})
    for line in proc.stdout:
        if line.startswith("training step 3 "):
            break
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status
    lines = err.strip().splitlines()
    assert len(lines) == 1 and said in lines[0], lines
    step = int(lines[0].split("global step ")[1].split(";")[0])
    import tensorflow as tf
    assert tf.train.latest_checkpoint(str(train_dir)).endswith(f"-{step}") and step >= 3


def test_sigterm_stops_a_pipeline_run_as_killed(tiny_data, tmp_path, capsys):
    """SIGTERM (a preempted pod, `kill`) during a local pipeline run's Trainer: exit 143, one
    line that says what happened and what a re-run does, the run shown as killed, the pipeline
    root free again, nothing pushed."""
    from pipeline import outcome
    root = tmp_path / "root"
    proc = subprocess.Popen(
        [sys.executable, "-m", "yt8m_cli.main", "pipeline", "run", "--data_dir", tiny_data,
         "--pipeline_root", str(root), "--model", "LogisticModel", "--batch_size", "2",
         "--num_epochs", "1000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    for line in proc.stdout:
        if line.startswith("training step "):
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 143
    assert err.strip().splitlines()[-1].startswith(
        "yt8m pipeline: terminated (SIGTERM) in the Trainer at global step "), err
    assert "reuses the cached steps before the Trainer" in err
    assert outcome.run_in_progress(str(root / "metadata.sqlite")) is False
    assert main(["runs", "--pipeline_root", str(root)]) == 0
    assert "KILLED: Trainer" in capsys.readouterr().out
    assert not (root / "serving_model").exists()


def test_debris_of_a_killed_run_is_removed_and_resume_keeps_the_epoch_count(tiny_data, tmp_path,
                                                                               capsys):
    pattern = os.path.join(tiny_data, "video", "train*.tfrecord")
    train_dir = tmp_path / "t"
    args = ["train", "--train_data_pattern", pattern, "--train_dir", str(train_dir),
            "--num_epochs", "1", *TRAIN]
    assert main(args) == 0
    steps_per_epoch = int(json.loads((train_dir / "progress.json").read_text())["global_step"])
    (train_dir / "model.ckpt-999_temp").mkdir()  # TensorFlow's half-written checkpoint
    (train_dir / ".model_flags.json.999999999.x.tmp").write_text("half")  # a dead writer's
    (train_dir / "export" / "step_00000999.tmp").mkdir()
    assert main(args) == 0  # the same command again: the epoch is done, nothing to train
    out = capsys.readouterr().out
    assert "1 of --num_epochs 1 epochs already trained; nothing to train" in out
    leftovers = [p for p in os.listdir(train_dir) if p.endswith(("_temp", ".tmp"))]
    assert leftovers == [] and os.listdir(train_dir / "export") == [
        f"step_{steps_per_epoch:08d}"]
    assert main([*args[:-len(TRAIN) - 2], "--num_epochs", "2", *TRAIN]) == 0
    progress = json.loads((train_dir / "progress.json").read_text())
    assert progress["epochs_done"] == 2 and progress["global_step"] == 2 * steps_per_epoch


# 13. Hyperparameters in a config --------------------------------------------------------------------
def test_unknown_hyperparameters_and_loose_booleans_are_refused(tmp_path, capsys):
    for hparams, needle in (({"l2_penalty": 1e-8, "moe_num_mixtures": 4},
                             "LogisticModel has no hyperparameter 'moe_num_mixtures'"),
                            ({"no_such_knob": 1}, "has no hyperparameter 'no_such_knob'"),
                            ({"dnn_context_gating": "no"}, "must be true or false"),
                            ({"dnn_layers": "2"}, "hparams.dnn_layers must be an integer")):
        config = tmp_path / "c.json"
        model = "LogisticModel" if "l2_penalty" in hparams or "no_such_knob" in hparams else \
            "GatedDnnModel"
        config.write_text(json.dumps({"data_dir": "d", "model": model, "hparams": hparams}))
        assert main(["pipeline", "compile", "--config", str(config)]) == 2
        _one_line(capsys, needle)
    config.write_text(json.dumps({"data_dir": "gs://bkt/d", "pipeline_root": "gs://bkt/r",
                                  "image": "i:1", "model": "GatedDnnModel",
                                  "hparams": {"dnn_context_gating": "false"}}))
    assert main(["pipeline", "compile", "--config", str(config), "--output",
                 str(tmp_path / "p.json")]) == 0


def test_scratch_folders_of_dead_processes_are_removed(tmp_path, monkeypatch):
    import tempfile
    from trainer_module import io_utils
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / "yt8m-run-999999999-abc"  # a killed `yt8m pipeline run`'s scratch
    alive = tmp_path / f"yt8m-worker0-{os.getpid()}-abc"
    other = tmp_path / "someone-elses"
    for folder in (dead, alive, other):
        folder.mkdir()
    fresh = io_utils.make_scratch("run")
    assert sorted(os.listdir(tmp_path)) == sorted([alive.name, other.name,
                                                  os.path.basename(fresh)])


@pytest.mark.parametrize("mount_options, reason", [("size=4k", "No space left on device"),
                                                    ("size=1m,ro", "Read-only file system")])
def test_full_disk_and_read_only_folder(trained, tmp_path, mount_options, reason):
    """A full disk and a read-only folder, made real with a tmpfs in a private mount namespace
    (root here ignores permission bits): one line, exit 2, no partial CSV left."""
    train_dir, _, data = trained
    target = tmp_path / "mnt"
    target.mkdir()
    pattern = os.path.join(data, "video", "*.tfrecord")  # all splits: a CSV larger than 4 KiB
    script = (f"mount -t tmpfs -o {mount_options} tmpfs {target} || exit 99; "
              f"{sys.executable} -m yt8m_cli.main inference --input_data_pattern '{pattern}' "
              f"--train_dir {train_dir} --output_file {target}/p.csv; echo \"rc=$?\"; "
              f"ls -A {target}")
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                          timeout=300)
    if proc.returncode == 99 or "rc=" not in proc.stdout:
        pytest.skip(f"no private tmpfs mount here: {proc.stderr.strip()[:200]}")
    err = [ln for ln in proc.stderr.strip().splitlines() if ln]
    assert err == [f"yt8m inference: error: {target}/p.csv: {reason}"], err
    rc_line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("rc="))
    assert rc_line == "rc=2"
    assert proc.stdout.strip().splitlines()[-1] == "rc=2"  # the folder is empty: nothing partial


# 14. Models and graphs are programs ------------------------------------------------------------
def _inception_shaped(path, pool):
    """A GraphDef with the dataset's Inception inputs and output: DecodeJpeg/contents ->
    DecodeJpeg -> ``pool(image)`` as pool_3/_reshape [1, 2048]."""
    import tensorflow as tf
    graph = tf.Graph()
    with graph.as_default():
        contents = tf.compat.v1.placeholder(tf.string, [], name="DecodeJpeg/contents")
        image = tf.io.decode_jpeg(contents, channels=3, name="DecodeJpeg")
        tf.reshape(pool(tf.cast(image, tf.float32)), [1, 2048], name="pool_3/_reshape")
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return str(path)


def _evil_graph(path, target):
    """Inception-shaped, but its pool output first writes ``target``."""
    import tensorflow as tf

    def pool(image):
        with tf.control_dependencies([tf.io.write_file(str(target), "pwned")]):
            return tf.reduce_mean(image) * tf.ones([1, 2048])
    return _inception_shaped(path, pool)


def test_a_graph_or_audio_model_that_reaches_files_is_refused(tmp_path, capsys):
    from tests.trainer_module.export.test_trust import evil_saved_model
    from tests.trainer_module.ingest import media

    videos = tmp_path / "videos"
    videos.mkdir()
    media.write_video(str(videos / "clip.mp4"), 1.0)
    pca = media.random_pca(str(tmp_path / "pca"))
    graph = _evil_graph(tmp_path / "graph.pb", tmp_path / "pwned")
    base = ["extract-features", "--videos", str(videos), "--pca_dir", pca, "--no_progress"]
    assert main([*base, "--inception_weights", graph, "--output_dir", str(tmp_path / "a")]) == 2
    _one_line(capsys, "--inception_weights", graph, "holds the op WriteFile", "--trust_model")
    audio = evil_saved_model(str(tmp_path / "audio"), "files")
    good = media.tiny_inception_graph(str(tmp_path / "good.pb"))
    assert main([*base, "--inception_weights", good, "--audio_model", audio, "--output_dir",
                 str(tmp_path / "b")]) == 2
    _one_line(capsys, "--audio_model", audio, "holds the op ReadFile")
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    # --trust_model: the user's call; the graph then runs (and writes its file)
    assert main([*base, "--inception_weights", graph, "--output_dir", str(tmp_path / "c"),
                 "--trust_model"]) == 0
    assert (tmp_path / "pwned").read_text() == "pwned"


def test_a_model_tgz_whose_serving_function_reaches_files_is_refused(trained, tmp_path, capsys):
    from tests.trainer_module.export.test_trust import evil_saved_model
    from trainer_module.train import model_flags as MF

    train_dir, _, data = trained
    staging = tmp_path / "staging"
    staging.mkdir()
    MF.save(str(staging), MF.ModelFlags("LogisticModel", "mean_rgb,mean_audio", "1024,128",
                                        False))
    evil_saved_model(str(staging / "saved_model"), "files")  # clean files, an evil program
    tgz = archive.pack(str(staging), str(tmp_path / "evil.tgz"))
    out = tmp_path / "p.csv"
    assert main(["inference", "--input_model_tgz", tgz, "--input_data_pattern",
                 os.path.join(data, "video", "test*.tfrecord"), "--output_file", str(out)]) == 2
    _one_line(capsys, "--input_model_tgz", "saved_model holds the op ReadFile", "--trust_model")
    assert not out.exists() and not (staging / "pwned").exists()


# 15. Non-finite values never become data (round 3) -------------------------------------------------
def _nan_graph(path):
    """Inception-shaped, with a NaN pool output."""
    import tensorflow as tf
    return _inception_shaped(path, lambda image: tf.reduce_mean(image) * float("nan")
                             * tf.ones([1, 2048]))


def test_a_network_that_outputs_nan_writes_no_record(tmp_path, capsys):
    from tests.trainer_module.ingest import media

    videos = tmp_path / "videos"
    videos.mkdir()
    media.write_video(str(videos / "clip.mp4"), 1.0)
    graph = _nan_graph(tmp_path / "nan.pb")
    out = tmp_path / "out"
    assert main(["extract-features", "--videos", str(videos), "--pca_dir",
                 media.random_pca(str(tmp_path / "pca")), "--inception_weights", graph,
                 "--output_dir", str(out), "--no_progress"]) == 2
    _one_line(capsys, "--inception_weights", graph, "gives NaN or infinity for",
              "clip.mp4", "of 1024 feature values")
    assert not list(out.rglob("*.tfrecord")) and not list(tmp_path.rglob("*.tmp"))


def test_mediapipe_records_with_nan_are_named(tmp_path, capsys):
    from tests.trainer_module.ingest.test_mediapipe import mediapipe_example

    rgb = np.zeros((3, 1024))
    rgb[1, 5] = np.nan
    (tmp_path / "mp.pb").write_bytes(mediapipe_example(rgb, np.zeros((3, 128)),
                                                       data_path="/v/a.mp4"))
    out = tmp_path / "out"
    assert main(["convert-mediapipe", "--inputs", str(tmp_path / "mp.pb"), "--output_dir",
                 str(out)]) == 2
    _one_line(capsys, "mp.pb", "1 of 3072 feature values are NaN or infinity")
    assert not list(out.rglob("*.tfrecord")) if out.exists() else True


@pytest.mark.parametrize("flag, value", [("--signal", "nan"), ("--signal", "inf"),
                                         ("--test_fraction", "nan")])
def test_generator_parameters_must_be_finite(tmp_path, capsys, flag, value):
    assert main(["generate-data", "--output_dir", str(tmp_path / "d"), "--num_videos", "4",
                 flag, value]) == 2
    _one_line(capsys, flag)
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("count", ["nan", "inf", "-3"])
def test_vocabulary_counts_must_be_finite(tmp_path, capsys, count):
    vocab = tmp_path / "vocabulary.csv"
    vocab.write_text(f"Index,TrainVideoCount,Name\n0,{count},a\n1,5,b\n")
    assert main(["generate-data", "--output_dir", str(tmp_path / "d"), "--num_videos", "4",
                 "--vocabulary", str(vocab)]) == 2
    _one_line(capsys, f"{vocab}:2:", "TrainVideoCount that is a finite number >= 0")
    assert not (tmp_path / "d").exists()


# 16. One writer per train_dir ----------------------------------------------------------------------
def test_a_second_train_on_a_busy_train_dir_is_refused(tiny_data, tmp_path, capsys):
    train_dir = tmp_path / "t"
    pattern = os.path.join(tiny_data, "video", "train*.tfrecord")
    args = ["train", "--train_data_pattern", pattern, "--train_dir", str(train_dir),
            "--model", "LogisticModel", "--batch_size", "2", "--no_metagraph"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "yt8m_cli.main", *args, "--num_epochs", "1000",
         "--log_every_steps", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        for line in proc.stdout:
            if line.startswith("training step 2 "):
                break
        before = sorted(os.listdir(train_dir))
        assert main([*args, "--num_epochs", "1", "--start_new_model"]) == 2
        _one_line(capsys, f"--train_dir {train_dir} is in use by another `yt8m train` "
                          f"(pid {proc.pid})")
        assert set(before) <= set(os.listdir(train_dir))  # nothing of the first run removed
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert main([*args, "--num_epochs", "1"]) == 0  # free again once it ended


# 17. Text and path kinds ---------------------------------------------------------------------------
def test_a_byte_order_mark_is_accepted_and_non_utf8_is_named(trained, tmp_path, capsys):
    predictions = tmp_path / "p.csv"
    predictions.write_bytes(b"\xef\xbb\xbfVideoId,LabelConfidencePairs\nv1,3 0.9 5 0.1\n")
    labels = tmp_path / "labels.csv"
    labels.write_bytes(b"\xef\xbb\xbfVideoId,Labels\nv1,3\n")
    assert main(["score", "--predictions", str(predictions), "--labels", str(labels)]) == 0
    capsys.readouterr()
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(b"VideoId,Labels\nv\xe9,3\n")
    assert main(["score", "--predictions", str(predictions), "--labels", str(latin)]) == 2
    _one_line(capsys, f"--labels {latin}: not UTF-8 text at byte 16")
    vocab = tmp_path / "vocabulary.csv"
    vocab.write_bytes(b"Index,TrainVideoCount,Name\n0,5,caf\xe9\n")
    assert main(["generate-data", "--output_dir", str(tmp_path / "d"), "--num_videos", "4",
                 "--vocabulary", str(vocab)]) == 2
    _one_line(capsys, f"--vocabulary {vocab}: not UTF-8 text at byte 34")


def test_a_folder_where_a_file_is_expected_is_named_as_such(trained, tmp_path, capsys):
    _, _, data = trained
    (tmp_path / "folder").mkdir()
    assert main(["inference", "--input_model_tgz", str(tmp_path / "folder"),
                 "--input_data_pattern", os.path.join(data, "video", "test*"), "--output_file",
                 str(tmp_path / "p.csv")]) == 2
    _one_line(capsys, f"--input_model_tgz {tmp_path / 'folder'} is a folder; expected a model "
                      ".tgz file")
    assert main(["score", "--predictions", str(tmp_path), "--labels", str(tmp_path)]) == 2
    _one_line(capsys, f"{tmp_path} is a folder; expected a CSV file")


def test_a_file_where_a_folder_is_expected_is_named_as_such(trained, tmp_path, capsys):
    """The other half of the path kinds: a file given for a folder (round 3)."""
    _, _, data = trained
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    pattern = os.path.join(data, "video", "validate*")
    for argv in (["train", "--train_data_pattern", pattern, "--train_dir", str(a_file)],
                 ["eval", "--eval_data_pattern", pattern, "--train_dir", str(a_file)],
                 ["inference", "--train_dir", str(a_file), "--input_data_pattern", pattern,
                  "--output_file", str(tmp_path / "p.csv")],
                 ["runs", "--pipeline_root", str(a_file)],
                 ["generate-data", "--output_dir", str(a_file), "--num_videos", "3"]):
        assert main(argv) == 2, argv
        _one_line(capsys, f"{a_file} is a file, expected a folder")
    assert a_file.read_text() == "x"


# 18. Validation before any cloud call ----------------------------------------------------------
@pytest.mark.parametrize("flags, said", [
    (["--data_dir", "gs://"], "--data_dir 'gs://' names no bucket"),
    (["--data_dir", "gs://my bucket/d"], "holds a space or another blank"),
    (["--pipeline_root", "gs://Bad_Bucket/r"], "bucket 'Bad_Bucket' is not a Cloud Storage"),
    (["--gpu_type", "NVIDIA_TESLA_T5", "--gpu_count", "1"], "is not an accelerator type Vertex"),
    (["--gpu_type", "NVIDIA_TESLA_T4", "--gpu_count", "100000"],
     "--gpu_count must be between 0 and 16"),
    (["--dataflow_project", "p", "--dataflow_region", "r", "--dataflow_temp_location", "/tmp/t"],
     "--dataflow_temp_location '/tmp/t' is not a gs:// URI"),
    (["--dataflow_project", "p", "--dataflow_region", "r", "--dataflow_temp_location",
      "gs://bkt/t", "--dataflow_max_workers", "-3"], "--dataflow_max_workers must be >= 1"),
])
def test_compile_checks_uris_gpus_and_dataflow_first(tmp_path, capsys, flags, said):
    args = {"--data_dir": "gs://bkt/d", "--pipeline_root": "gs://bkt/r", "--image": "i:1",
            "--output": str(tmp_path / "p.json")}
    for flag, value in zip(flags[::2], flags[1::2]):
        args[flag] = value
    assert main(["pipeline", "compile", *[x for kv in args.items() for x in kv]]) == 2
    _one_line(capsys, said)
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("text", ["{}", "[]", '{"pipelineSpec": {"pipelineInfo": {"name": "x"}, '
                                               '"deploymentSpec": {"executors": {}}}}'])
def test_submit_refuses_another_pipeline_before_authenticating(tmp_path, capsys, monkeypatch,
                                                               text):
    import google.auth
    monkeypatch.setattr(google.auth, "default", lambda *a, **k: pytest.fail("authenticated"))
    path = tmp_path / "p.json"
    path.write_text(text)
    assert main(["pipeline", "submit", "--output", str(path), "--project", "p", "--region",
                 "us-central1"]) == 2
    _one_line(capsys, f"{path}: not a pipeline compiled by `yt8m pipeline compile`")


# 19. One output guard for every command (round 3) -------------------------------------------------
def _member_dirs(train_dir, parent):
    """Two train_dirs (copies of the trained one) under ``parent``."""
    members = [parent / "a", parent / "b"]
    for member in members:
        shutil.copytree(train_dir, member)
    return members


def test_no_output_over_inside_or_around_an_input(trained, tmp_path, capsys):
    """yt8m_cli/main.py checks every command's declared reads and writes before any work."""
    train_dir, _, data = trained
    vocab = tmp_path / "vocabulary.csv"
    vocab.write_text("Index,TrainVideoCount,Name\n0,5,a\n")
    shards = tmp_path / "shards"
    shards.mkdir()
    shutil.copy(os.path.join(data, "video", "validate0000.tfrecord"), shards)
    pattern = str(shards / "validate*.tfrecord")
    members = _member_dirs(train_dir, tmp_path / "members")
    before, train_before = _snapshot(tmp_path), _snapshot(train_dir)
    report = ["report", "--train_dir", train_dir, "--eval_data_pattern", pattern]
    predict = ["inference", "--train_dir", train_dir, "--input_data_pattern", pattern]
    cases = [
        ([*report, "--vocabulary", str(vocab), "--output", str(vocab)],
         f"--output {vocab} is also an input (--vocabulary)"),
        ([*report, "--output", str(shards / "validate0000.tfrecord")],
         "is also an input (--eval_data_pattern)"),
        ([*report, "--output", str(shards / "validate_report.tfrecord")],
         "validate*.tfrecord, which it reads: write it elsewhere"),
        ([*predict, "--output_file", str(tmp_path / "p.csv"), "--vocabulary", str(vocab),
          "--named_output_file", str(vocab)],
         f"--named_output_file {vocab} is also an input (--vocabulary)"),
        ([*predict, "--output_file", os.path.join(train_dir, "p.csv")],
         f"is inside --train_dir {os.path.realpath(train_dir)}, which it reads"),
        (["ensemble", "--train_dirs", ",".join(map(str, members)), "--output_dir",
          str(tmp_path / "members")],
         f"--output_dir {tmp_path / 'members'} contains --train_dirs"),
        ([*predict, "--output_file", str(tmp_path / "p.csv"), "--output_model_tgz",
          str(tmp_path / "p.csv")], "two outputs at one path"),
    ]
    for argv, said in cases:
        assert main(argv) == 2, argv
        _one_line(capsys, said)
    assert _snapshot(tmp_path) == before and _snapshot(train_dir) == train_before


# 20. Nothing deleted that the command did not write (round 3) ---------------------------------------
def test_ensemble_replaces_only_its_own_earlier_output(trained, tmp_path, capsys):
    train_dir, _, _ = trained
    members = _member_dirs(train_dir, tmp_path / "members")
    out = tmp_path / "ensemble"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    scratch = tmp_path / "ensemble.tmp"  # the name a scratch sibling used to take
    scratch.mkdir()
    (scratch / "keep").write_text("mine too")
    argv = ["ensemble", "--train_dirs", ",".join(map(str, members)), "--output_dir", str(out)]
    assert main(argv) == 2
    _one_line(capsys, f"--output_dir {out} is not empty (it holds 'notes.txt') and no yt8m "
                      "command wrote it")
    assert (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    assert main(argv) == 0 and (out / "saved_model" / "saved_model.pb").exists()
    assert main(argv) == 0  # its own earlier output: replaced
    (out / "notes.txt").write_text("mine")  # a file put into the ensemble's folder since
    assert main(argv) == 2
    _one_line(capsys, "holds 'notes.txt', which no earlier ensemble wrote")
    assert (out / "notes.txt").read_text() == "mine"
    assert (scratch / "keep").read_text() == "mine too"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp") and p != scratch]


# 21. Resume by content, not by name (round 3) ---------------------------------------------------------
def _ids(folder):
    import tensorflow as tf
    from trainer_module.data import records
    return [tf.train.Example.FromString(r).features.feature["id"].bytes_list.value[0].decode()
            for path in sorted(folder.glob("video/*.tfrecord"))
            for r in records.iterate_records(str(path))]


def test_generate_data_again_with_other_settings(tmp_path, capsys):
    d = tmp_path / "d"
    base = ["generate-data", "--output_dir", str(d), "--num_videos", "40",
            "--validate_fraction", "0", "--test_fraction", "0"]
    assert main([*base, "--num_shards", "4"]) == 0
    before = _snapshot(d)
    capsys.readouterr()
    assert main([*base, "--num_shards", "2"]) == 2
    _one_line(capsys, f"--output_dir {d} holds an earlier `generate-data` with other settings "
                      "(num_shards: 4 -> 2)", "--overwrite to replace that run's 5 files")
    assert _snapshot(d) == before
    assert main([*base, "--num_shards", "2", "--overwrite"]) == 0  # no stale shard stays
    assert sorted(p.name for p in (d / "video").iterdir()) == ["train0000.tfrecord",
                                                               "train0001.tfrecord"]
    ids = _ids(d)
    assert len(ids) == len(set(ids)) == 40
    assert len((d / "train_labels.csv").read_text().splitlines()) == 41
    assert main([*base, "--num_shards", "2"]) == 0  # the same settings: written again
    capsys.readouterr()
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    assert main(["generate-data", "--output_dir", str(other), "--num_videos", "4"]) == 2
    _one_line(capsys, "is not empty (it holds 'keep.txt') and no yt8m command wrote it")
    assert os.listdir(other) == ["keep.txt"]


def test_convert_mediapipe_resumes_only_the_same_inputs(tmp_path, capsys):
    from tests.trainer_module.ingest.test_mediapipe import mediapipe_example
    rng = np.random.default_rng(0)
    inputs = []
    for name in ("a", "b"):
        inputs.append(tmp_path / f"{name}.pb")
        inputs[-1].write_bytes(mediapipe_example(rng.normal(0, 1, (3, 1024)),
                                                 rng.normal(0, 1, (3, 128)),
                                                 data_path=f"/v/{name}.mp4"))
    out = tmp_path / "out"
    convert = ["convert-mediapipe", "--output_dir", str(out), "--videos_per_shard", "1",
               "--inputs"]
    assert main([*convert, str(inputs[0])]) == 0
    before = _snapshot(out)
    assert main([*convert, str(inputs[0]), str(inputs[1])]) == 2
    _one_line(capsys, "holds an earlier `convert-mediapipe videos` with other settings (inputs: "
                      "1 added", "b.pb")
    assert _snapshot(out) == before
    assert main([*convert, str(inputs[0])]) == 0  # the same input: resumed, nothing redone
    assert "(1 shard pairs already complete)" in capsys.readouterr().out
    inputs[0].write_bytes(mediapipe_example(np.zeros((3, 1024)), np.zeros((3, 128)),
                                            data_path="/v/a.mp4"))  # same name, new content
    assert main([*convert, str(inputs[0])]) == 2
    _one_line(capsys, "(inputs: 1 changed", "a.pb")
    assert main([*convert, str(inputs[0]), str(inputs[1]), "--overwrite"]) == 0
    assert sorted(_ids(out)) == ["a", "b"]


def test_extract_features_refuses_an_earlier_run_of_other_videos(tmp_path, capsys):
    from tests.trainer_module.ingest import media
    videos = tmp_path / "videos"
    videos.mkdir()
    media.write_video(str(videos / "one.mp4"), 1.0)
    out = tmp_path / "out"
    extract = ["extract-features", "--videos", str(videos), "--pca_dir",
               media.random_pca(str(tmp_path / "pca")), "--inception_weights",
               media.tiny_inception_graph(str(tmp_path / "g.pb")), "--output_dir", str(out),
               "--no_progress"]
    assert main(extract) == 0
    media.write_video(str(videos / "two.mp4"), 1.0, pattern=1)
    assert main(extract) == 2
    _one_line(capsys, "holds an earlier `extract-features videos` with other settings (videos: 1 "
                      "added (two))")
    assert _ids(out) == ["one"]
    assert main([*extract, "--overwrite"]) == 0
    assert sorted(_ids(out)) == ["one", "two"]


# 22. Records of other tools that would become wrong data (round 3) -----------------------------------
@pytest.mark.parametrize("change, said", [
    (lambda ex: ex.context.feature["clip/label/index"].int64_list.value.append(-1),
     "label -1 in clip/label/index is outside [0, 3862)"),
    (lambda ex: ex.context.feature["clip/label/index"].int64_list.value.append(99999),
     "label 99999 in clip/label/index is outside [0, 3862)"),
    (lambda ex: ex.context.feature["clip/data_path"].bytes_list.value.__setitem__(
        0, b"/v/\xff\xfe.mp4"), "the clip/data_path is not UTF-8 text (byte 3)"),
    (lambda ex: ex.context.feature["clip/data_path"].bytes_list.value.__setitem__(0, b"/v/"),
     "the video id (the file name of clip/data_path) is empty"),
])
def test_mediapipe_labels_and_ids_that_are_not_the_dataset_s(tmp_path, capsys, change, said):
    import tensorflow as tf
    from tests.trainer_module.ingest.test_mediapipe import mediapipe_example
    ex = tf.train.SequenceExample.FromString(mediapipe_example(np.zeros((3, 1024)),
                                                               np.zeros((3, 128))))
    change(ex)
    (tmp_path / "mp.pb").write_bytes(ex.SerializeToString())
    assert main(["convert-mediapipe", "--inputs", str(tmp_path / "mp.pb"), "--output_dir",
                 str(tmp_path / "out")]) == 2
    _one_line(capsys, f"{tmp_path / 'mp.pb'}: {said}")
    assert not (tmp_path / "out").exists()


def test_a_video_in_two_shards_gives_no_csv(trained, tmp_path, capsys):
    """`yt8m score` (and Kaggle) refuse a CSV listing a video twice: inference writes none."""
    train_dir, _, data = trained
    for copy in ("a", "b"):
        shutil.copy(os.path.join(data, "video", "test0000.tfrecord"),
                    tmp_path / f"test_{copy}.tfrecord")
    out = tmp_path / "p.csv"
    assert main(["inference", "--train_dir", train_dir, "--input_data_pattern",
                 str(tmp_path / "test_*.tfrecord"), "--output_file", str(out)]) == 2
    _one_line(capsys, "appears twice in --input_data_pattern (2 files:",
              "each video must be in one shard once")
    assert not out.exists()


def test_runs_and_report_without_a_store_or_with_junk(tmp_path, capsys):
    """No metadata at the root: one line, and no empty store left behind; a file that is no
    store: one line naming it."""
    missing = tmp_path / "never_ran"
    for argv in (["runs", "--pipeline_root", str(missing)],
                 ["report", "--pipeline_root", str(missing), "--output", str(tmp_path / "r.html")]):
        assert main(argv) == 2
        _one_line(capsys, "no pipeline metadata at", "run `yt8m pipeline run` first")
    assert not missing.exists()
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not sqlite")
    assert main(["runs", "--metadata_path", str(junk)]) == 2
    _one_line(capsys, f"{junk}: not a readable pipeline metadata store")
