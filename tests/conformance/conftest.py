"""The emulated ``gs://`` that both conformance runs (Vertex AI, open-source KFP) share."""
import pytest

from tests.conformance import gcs

BUCKET = "yt8m-test"
DATA = f"gs://{BUCKET}/data"


@pytest.fixture(scope="session")
def cloud(tiny_data, tmp_path_factory):
    """The emulated gs:// with the tiny dataset under gs://yt8m-test/data/{video,frame}/."""
    work = str(tmp_path_factory.mktemp("cloud"))
    with gcs.serve(work, buckets=(BUCKET,)) as local:
        local.upload_dir(tiny_data, DATA)
        yield local
        assert local.gateway.refused == []  # no client tried to reach anything else
