"""The spec runner's trigger conditions: the CEL that TFX compiles the blessing gate into."""
import json

import pytest

from kubeflow import runner
from tests.conformance import spec_runner
from pipeline.config import PipelineConfig


def _blessing(blessed) -> dict:
    return {"_Evaluator.blessing": {"artifacts": [{"uri": "gs://b/blessing", "metadata": {
        "blessed": blessed}}]}}


def test_the_compiled_blessing_gate_runs_kaggle_export_only_for_a_blessed_model(tmp_path):
    config = PipelineConfig.of(data_dir="gs://bkt/d", pipeline_root="gs://bkt/r", image="i:1")
    job = json.load(open(runner.compile_pipeline(config, str(tmp_path / "p.json"))))
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    gated = {name for name, task in tasks.items() if "triggerPolicy" in task}
    assert gated == {"KaggleExport"}  # Pusher checks the blessing itself, RunReport always runs
    condition = tasks["KaggleExport"]["triggerPolicy"]["condition"]
    assert spec_runner.evaluate_condition(condition, _blessing(1)) is True
    assert spec_runner.evaluate_condition(condition, _blessing(0)) is False
    with pytest.raises(KeyError):  # a blessing without the property fails, as in KFP
        spec_runner.evaluate_condition(condition, {"_Evaluator.blessing": {"artifacts": [
            {"uri": "u", "metadata": {}}]}})


@pytest.mark.parametrize("expression, expected", [
    ("(inputs.artifacts['a'].artifacts[0].metadata['n'] > 2.0)", True),
    ("!((inputs.artifacts['a'].artifacts[0].metadata['n'] < 2.0))", True),
    ("((inputs.artifacts['a'].artifacts[0].uri + '/x') == 'gs://b/a/x')", True),
    ("((inputs.artifacts['a'].artifacts[0].metadata['n'] == 3.0) && "
     "(inputs.artifacts['a'].artifacts[0].metadata['s'] == 'no'))", False),
    ("((inputs.artifacts['a'].artifacts[0].metadata['n'] == 1.0) || "
     "(inputs.artifacts['a'].artifacts[0].metadata['s'] == 'yes'))", True),
])
def test_cel_subset(expression, expected):
    artifacts = {"a": {"artifacts": [{"uri": "gs://b/a", "metadata": {"n": 3, "s": "yes"}}]}}
    assert spec_runner.evaluate_condition(expression, artifacts) is expected


@pytest.mark.parametrize("expression", ["__import__('os').system('true')",
                                        "inputs.artifacts['a'].artifacts[0].metadata['n'] * 2"])
def test_anything_else_is_refused(expression):
    artifacts = {"a": {"artifacts": [{"uri": "u", "metadata": {"n": 3}}]}}
    with pytest.raises(ValueError, match="unsupported condition construct"):
        spec_runner.evaluate_condition(expression, artifacts)
