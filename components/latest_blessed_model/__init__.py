"""The Evaluator's baseline on open-source Kubeflow Pipelines: a task that asks ML Metadata."""
