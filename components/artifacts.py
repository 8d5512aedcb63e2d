"""Helpers shared by the custom components about their input artifacts."""
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2


def is_frame_level(examples) -> bool:
    """True when an Examples artifact holds tf.SequenceExamples (frame-level YT8M records)."""
    return (examples_utils.get_payload_format(examples)
            == example_gen_pb2.FORMAT_TF_SEQUENCE_EXAMPLE)
