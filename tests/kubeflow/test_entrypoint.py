"""The open-source KFP container entrypoint's adaptations, and the baseline's ML Metadata query
on a real (SQLite) store laid out as the KFP launcher records artifacts."""
import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as mlmd

from components.latest_blessed_model import mlmd_query
from kubeflow import entrypoint

MODEL_TYPE = {"instanceSchema": "title: tfx.Model\ntype: object\n"}


def test_adapt_drops_logs_no_baseline_and_driver_input_and_types_inputs():
    executor_input = {
        "inputs": {"parameterValues": {"top_k": 20, entrypoint.DRIVER_INPUT: "{}"},
                   "artifacts": {
                       "model": {"artifacts": [{"name": "3", "uri": "gs://b/m",
                                                "type": {"instanceSchema": ""}}]},
                       "baseline_model": {"artifacts": [{
                           "name": "4", "uri": "gs://b/empty", "type": {"instanceSchema": ""},
                           "metadata": {"yt8m_no_baseline": 1.0}}]}}},
        "outputs": {"artifacts": {"blessing": {"artifacts": [{"name": "blessing"}]},
                                  "executor-logs": {"artifacts": [{"name": "executor-logs"}]}},
                    "outputFile": "/tmp/x/output_metadata.json"}}
    spec = {"artifacts": {"model": {"artifactType": MODEL_TYPE},
                          "baseline_model": {"artifactType": MODEL_TYPE}}}
    adapted = entrypoint.adapt_executor_input(executor_input, spec)
    assert adapted["inputs"]["artifacts"]["baseline_model"]["artifacts"] == []
    assert adapted["inputs"]["artifacts"]["model"]["artifacts"][0]["type"] == MODEL_TYPE
    assert set(adapted["outputs"]["artifacts"]) == {"blessing"}
    assert adapted["inputs"]["parameterValues"] == {"top_k": 20}
    assert executor_input["outputs"]["artifacts"]["executor-logs"]  # the input is not changed
    with pytest.raises(ValueError, match="'model' has no type"):
        entrypoint.adapt_executor_input(executor_input, None)


def test_null_metadata_never_reach_the_launcher_and_metrics_keep_only_numbers():
    metadata = {"tfx_version": "1.16.0", "is_external": 0, "state": None, "gap": 0.5,
                "hit_at_one": 1, "note": "text", "flag": True}
    output = {"artifacts": {key: {"artifacts": [{"uri": f"gs://b/{key}", "metadata": metadata}]}
                            for key in ("model", "metrics", "old_metrics")}}
    types = {"model": MODEL_TYPE, "metrics": {"schemaTitle": "system.Metrics",
                                              "schemaVersion": "0.0.1"},
             "old_metrics": {"instanceSchema": "title: system.Metrics\ntype: object\n"}}
    tidy = entrypoint.tidy_output_metadata(output, types)["artifacts"]
    kept = {k: v for k, v in metadata.items() if v is not None}
    assert tidy["model"]["artifacts"][0]["metadata"] == kept
    for key in ("metrics", "old_metrics"):
        assert tidy[key]["artifacts"][0]["metadata"] == {"gap": 0.5, "hit_at_one": 1}


def _store(tmp_path):
    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = str(tmp_path / "mlmd.sqlite")
    return metadata_store.MetadataStore(config)


def _artifact(store, type_name, uri, context, **properties):
    type_id = store.put_artifact_type(mlmd.ArtifactType(name=type_name))
    artifact = mlmd.Artifact(type_id=type_id, uri=uri, state=mlmd.Artifact.LIVE)
    for key, value in properties.items():
        field = "string_value" if isinstance(value, str) else "double_value"
        setattr(artifact.custom_properties[key], field, value)
    artifact_id = store.put_artifacts([artifact])[0]
    store.put_attributions_and_associations(
        [mlmd.Attribution(artifact_id=artifact_id, context_id=context)], [])
    return artifact_id


def test_the_newest_blessed_model_of_this_pipeline(tmp_path):
    store = _store(tmp_path)
    context_type = store.put_context_type(mlmd.ContextType(name="system.Pipeline"))
    ours, theirs = store.put_contexts([mlmd.Context(type_id=context_type, name="yt8m"),
                                       mlmd.Context(type_id=context_type, name="other")])
    assert mlmd_query.latest_blessed_model(store, "yt8m") is None  # a first run
    old = _artifact(store, "tfx.Model", "gs://b/old", ours, tfx_version="1.16.0",
                    display_name="model")
    new = _artifact(store, "tfx.Model", "gs://b/new", ours)
    elsewhere = _artifact(store, "tfx.Model", "gs://b/other", theirs)
    _artifact(store, "tfx.ModelBlessing", "gs://b/b1", ours, blessed=1.0,
              current_model_id=str(old))
    assert mlmd_query.latest_blessed_model(store, "yt8m").uri == "gs://b/old"
    _artifact(store, "tfx.ModelBlessing", "gs://b/b2", ours, blessed=0.0,
              current_model_id=str(new))  # not blessed
    _artifact(store, "tfx.ModelBlessing", "gs://b/b3", theirs, blessed=1.0,
              current_model_id=str(elsewhere))  # another pipeline
    found = mlmd_query.latest_blessed_model(store, "yt8m")
    assert found.uri == "gs://b/old"
    assert mlmd_query.model_metadata(found) == {"tfx_version": "1.16.0"}  # KFP's own dropped
    _artifact(store, "tfx.ModelBlessing", "gs://b/b4", ours, blessed=1.0,
              current_model_id=str(new))
    assert mlmd_query.latest_blessed_model(store, "yt8m").uri == "gs://b/new"


def test_the_metadata_address_comes_from_kfps_configmap():
    with pytest.raises(ValueError, match="METADATA_GRPC_SERVICE_HOST=None"):
        mlmd_query.connect_from_env({})
