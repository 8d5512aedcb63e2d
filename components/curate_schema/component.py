"""CurateSchema component: SchemaGen's schema plus inferred tensor representations.

SchemaGen writes no ``tensor_representation_group`` for SequenceExample feature lists; without
it Transform falls back to raw records and the Trainer's dataset factory fails. This step infers
the representations (ragged tensors for the per-frame byte strings) and writes them in.

``labels`` is a list of any length by nature; SchemaGen makes it a fixed shape when every video
of the statistics has the same number of labels (one label per video is common in a user's own
data), which would turn it into a dense tensor and reject a video with two. It is made
variable-length again (a sparse tensor), and so are the 2019 segment ratings' three lists.
"""

import os

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts
from tfx.utils import io_utils

SCHEMA_FILE = "schema.pbtxt"


def curate(schema):
    """Returns a copy of ``schema`` with inferred tensor representations set."""
    from tensorflow_metadata.proto.v0 import schema_pb2
    from tfx_bsl.tfxio import tensor_representation_util as tru

    from trainer_module.data import features as F
    from trainer_module.data import segments as S

    out = schema_pb2.Schema()
    out.CopyFrom(schema)
    for feature in out.feature:
        if feature.name in (F.LABELS_KEY, *S.RATING_KEYS) and feature.HasField("shape"):
            feature.ClearField("shape")
            feature.value_count.min = 0
    tru.SetTensorRepresentationsInSchema(out, tru.InferTensorRepresentationsFromSchema(out))
    return out


@component
def CurateSchema(schema: InputArtifact[standard_artifacts.Schema],
                 curated_schema: OutputArtifact[standard_artifacts.Schema]) -> None:
    from tensorflow_metadata.proto.v0 import schema_pb2

    source = io_utils.get_only_uri_in_dir(schema.uri)
    result = curate(io_utils.parse_pbtxt_file(source, schema_pb2.Schema()))
    io_utils.write_pbtxt_file(os.path.join(curated_schema.uri, SCHEMA_FILE), result)
