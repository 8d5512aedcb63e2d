"""LatestBlessedModel: the Evaluator's baseline where no resolver executor exists.

Open-source Kubeflow Pipelines 2.x refuses ``resolver`` executors when a run is created
(``backend/src/v2/compiler/argocompiler/dag.go``), and TFX compiles its Resolver into one. On
that platform this container task stands in for the Resolver: it finds the newest blessed model
of the pipeline in the cluster's ML Metadata and hands it on *by reference* (its output's URI is
the model's, which the KFP launcher keeps: ``component/launcher_v2.go`` mergeRuntimeArtifacts).
On a first run it hands on an explicit "no baseline" (``NO_BASELINE`` set on an empty artifact),
which the project's container entrypoint drops before the Evaluator runs, so the Evaluator sees
an empty baseline exactly as after an empty resolver result. The pipeline never caches it.
"""
from tfx.dsl.component.experimental.annotations import OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from components.latest_blessed_model import mlmd_query

NO_BASELINE = "yt8m_no_baseline"


@component
def LatestBlessedModel(model: OutputArtifact[standard_artifacts.Model],
                       pipeline_name: Parameter[str]) -> None:
    found = mlmd_query.latest_blessed_model(mlmd_query.connect_from_env(), pipeline_name)
    if found is None:
        model.set_int_custom_property(NO_BASELINE, 1)
        print(f"LatestBlessedModel: no blessed model of pipeline {pipeline_name!r} yet")
        return
    model.uri = found.uri
    for key, value in mlmd_query.model_metadata(found).items():
        if isinstance(value, str):
            model.set_string_custom_property(key, value)
        elif float(value).is_integer():
            model.set_int_custom_property(key, int(value))
        else:
            model.set_float_custom_property(key, float(value))
    print(f"LatestBlessedModel: baseline is model {found.id} at {found.uri}")
