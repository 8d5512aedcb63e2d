"""Kubeflow Pipelines v2 / Vertex AI Pipelines: compile and submit the YT8M pipeline."""
