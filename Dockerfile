# Pipeline image for Kubeflow Pipelines v2 / Vertex AI Pipelines (and Dataflow's SDK container).
# The base tag must equal the tfx version pinned in requirements.lock (checked by a test).
FROM tensorflow/tfx:1.16.0

ENV TF_USE_LEGACY_KERAS=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /pipeline
# The lock the tests ran against, with its dependencies: uv keeps every package the base image
# already has at the locked version and installs or replaces every other one.
COPY requirements.lock ./
RUN pip install --no-cache-dir uv==0.13.8 \
 && uv pip install --system --no-cache -r requirements.lock

# The project itself (every package listed in pyproject.toml's packages.find).
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY components ./components
COPY trainer_module ./trainer_module
COPY kubeflow ./kubeflow
COPY yt8m_cli ./yt8m_cli
COPY yt8m ./yt8m
COPY system ./system
# The build fails unless pip check passes, every locked version is the installed one, and every
# Python path of the compiled pipeline (executors, artifact types by schema title, run_fn,
# preprocessing_fn, TFMA modules) imports: kubeflow/image_check.py, also run by the tests.
RUN pip install --no-cache-dir --no-deps . \
 && python -m kubeflow.image_check --lock requirements.lock
