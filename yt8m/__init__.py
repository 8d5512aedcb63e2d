"""The project's own TFX artifact types, importable by their Kubeflow schema titles.

TFX's v2 container entrypoint imports every artifact type whose schema title is not a
first-party ``tfx.*`` title *by that title*, as a Python class path, and the KFP compiler only
accepts titles of the form ``<namespace>.<Type>``. A title ``yt8m.ModelArchive`` therefore
needs an importable module ``yt8m`` holding ``ModelArchive``: this package, installed with the
project (and in the pipeline image).
"""
from tfx import types


class KaggleSubmission(types.Artifact):
    """The Kaggle predictions CSV (``predictions.csv``: ``VideoId,LabelConfidencePairs``)."""

    TYPE_NAME = "yt8m.KaggleSubmission"


class ModelArchive(types.Artifact):
    """A model .tgz (model_flags.json, inference_model.*, saved_model/)."""

    TYPE_NAME = "yt8m.ModelArchive"


class RunReport(types.Artifact):
    """A self-contained HTML report (report.html) and its data (report_data.npz)."""

    TYPE_NAME = "yt8m.RunReport"


ALL = (KaggleSubmission, ModelArchive, RunReport)
