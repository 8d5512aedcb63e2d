# Pipeline image for Kubeflow Pipelines v2 / Vertex AI Pipelines (and Dataflow's SDK container).
# The base tag must equal the tfx version pinned in requirements.lock (checked by a test).
FROM tensorflow/tfx:1.16.0

ENV TF_USE_LEGACY_KERAS=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /pipeline
# Install only what the base image lacks, at the lock's versions (the base already carries TFX,
# TensorFlow, Beam and TFMA at the same pins).
COPY requirements.lock ./
RUN pip install --no-cache-dir uv==0.13.8 \
 && uv pip install --system --no-deps \
      $(grep -E '^(tf-keras|tensorflow-serving-api|matplotlib|google-cloud-aiplatform)==' requirements.lock | cut -d' ' -f1)

# The project itself: every module path the compiled pipeline references
# (trainer_module.run_fn.run_fn, trainer_module.transform.preprocessing_fn,
# trainer_module.tfma_metrics, components.*) must import inside this image.
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY components ./components
COPY trainer_module ./trainer_module
COPY kubeflow ./kubeflow
COPY yt8m_cli ./yt8m_cli
RUN pip install --no-cache-dir --no-deps . \
 && python -c "import trainer_module.run_fn, trainer_module.transform, trainer_module.tfma_metrics, components.kaggle_export.component, components.run_report.component, components.curate_schema.component"
