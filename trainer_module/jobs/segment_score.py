"""``yt8m score --segment_labels``: segment MAP@K of a ``Class,Segments`` submission against the
segment ratings of frame-level records (docs/segments.md).

Every record's ratings are checked (``data/segments.check``: one line naming the file and record
for lists that are inconsistent); a video found in two records is an error.
"""
from __future__ import annotations

from trainer_module.data import features as F
from trainer_module.data import records
from trainer_module.data import segments as S
from trainer_module.evaluation import segment_metrics as SM
from trainer_module.export import segment_csv


def read_ratings(data_pattern: str, field: str = "`labels_data_pattern`") -> dict:
    """{(video_id:start, class): score} of every record the pattern matches."""
    import tensorflow as tf

    from trainer_module.data import input_pipeline

    out: dict = {}
    seen: dict = {}
    for path in input_pipeline.list_files(data_pattern, field):
        for index, record in enumerate(records.iterate_records(path)):
            where = f"{path} record {index}"
            try:
                example = tf.train.SequenceExample.FromString(record)
            except Exception:  # noqa: BLE001 (protobuf's DecodeError)
                raise ValueError(f"{where}: not a frame-level SequenceExample") from None
            vid = F.record_id(example.context.feature).decode("utf-8", "replace")
            if not vid:
                raise ValueError(f"{where}: no video id")
            if vid in seen:
                raise ValueError(f"{where}: video {vid!r} also in {seen[vid]}")
            seen[vid] = where
            for r in S.from_sequence_example(example, where):
                out[(SM.segment_id(vid, r.start), r.label)] = r.score
    if not out:
        raise ValueError(f"{field} {data_pattern}: no segment ratings in "
                         f"{len(seen)} records (the 2019 validate partition carries them)")
    return out


def run(predictions: str, labels_data_pattern: str, k: int = SM.DEFAULT_K, log=print) -> dict:
    from trainer_module.jobs import segment_rank

    segment_rank.Settings(k)  # K checked as eval and inference check it
    ranked = segment_csv.read(predictions)
    ratings = read_ratings(labels_data_pattern)
    result = SM.segment_map(ranked, ratings, k)
    positives = sum(1 for v in ratings.values() if v > 0)
    log(f"MAP@{k}: {result.map:.6f} over {len(result.per_class)} classes "
        f"({len(ratings)} rated segment labels, {positives} positive)")
    return {"map": result.map, "k": k, "classes": len(result.per_class),
            "ratings": len(ratings), "positives": positives}
