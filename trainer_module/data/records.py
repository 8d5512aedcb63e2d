"""Reading TFRecord shards safely: corrupt or truncated files are named, or skipped and counted.

A TFRecord file cannot be resynchronized after a bad length or CRC, so "skipping" a corrupt
record means dropping the rest of its file. Two modes:
  * default: a corrupt shard stops the run with ``DataError`` naming the file and the index of the
    first bad record (found by re-scanning the files only after TensorFlow reported data loss, so
    the happy path costs nothing);
  * ``skip_corrupt=True`` (``--skip_corrupt_records``): every file is scanned first (one pass of
    I/O and CRC checks), the readable prefix of each damaged file is used, and a report says how
    many records each damaged file gave and why the rest was skipped.
"""
from __future__ import annotations

import contextlib
import dataclasses
import re
from typing import Iterator

import tensorflow as tf

from trainer_module.data import features as F
from trainer_module.errors import DataError


@dataclasses.dataclass(frozen=True)
class FileScan:
    path: str
    records: int  # readable records before the first error (all of them when error is None)
    error: str | None = None


# What reading a cut or damaged TFRecord file raises.
READ_ERRORS = (tf.errors.DataLossError, tf.errors.OutOfRangeError)


def iterate_records(path: str, options=None) -> Iterator[bytes]:
    """The records of one file, through tf_record_iterator (the fastest reader per record here)
    without its deprecation warning, which would otherwise be a user's first line of output."""
    from tensorflow.python.util import deprecation

    with deprecation.silence():
        yield from tf.compat.v1.io.tf_record_iterator(path, options)


def check_level(files: list[str], frame_level: bool) -> None:
    """The first record says whether the data is video- or frame-level: it must match the flags
    (a tf.Example parses as a SequenceExample without frames, and would train on nothing).

    Raises:
      DataError: naming the file, the record and what the flags expect.
    """
    from google.protobuf.message import DecodeError

    try:
        raw = next(iterate_records(files[0]), None) if files else None
    except tf.errors.OpError:
        return  # compressed or damaged: the reader names it
    if raw is None:
        return
    try:
        # Example and SequenceExample share field 1 (features / context): one parse for both
        record = tf.train.SequenceExample.FromString(raw)
    except DecodeError:
        raise DataError(f"{files[0]}: record 0: not a tf.Example or tf.SequenceExample") from None
    lists = sorted(record.feature_lists.feature_list)
    if frame_level and not lists:
        raise DataError(f"{files[0]}: record 0: a video-level tf.Example (no frame feature "
                        "lists), but frame-level data was asked for (`frame_features`); drop "
                        "`frame_features` or give frame-level records")
    if not frame_level and lists:
        raise DataError(f"{files[0]}: record 0: a frame-level tf.SequenceExample (feature lists "
                        f"{', '.join(lists)}), but video-level data was asked for; pass "
                        "`frame_features` or give video-level records")


def scan_file(path: str, compression: str | None = None) -> FileScan:
    """Counts the readable records of one file and describes the first error, if any."""
    options = tf.io.TFRecordOptions(compression) if compression else None
    count = 0
    try:
        for _ in iterate_records(path, options):
            count += 1
    except READ_ERRORS as e:
        reason = "truncated record" if "truncated" in str(e).lower() else "corrupted record"
        return FileScan(path, count, f"{reason} ({str(e).splitlines()[0][:120]})")
    return FileScan(path, count)


def first_corruption(files: list[str], compression: str | None = None) -> FileScan | None:
    """The first file that does not read to its end (None if all are intact)."""
    for path in files:
        scan = scan_file(path, compression)
        if scan.error:
            return scan
    return None


def describe(scan: FileScan) -> str:
    return f"{scan.path}: record {scan.records}: {scan.error}"


@dataclasses.dataclass
class ReadReport:
    """What a run read: files, records, and the damaged files whose remainder was skipped."""

    files: int = 0
    damaged: list = dataclasses.field(default_factory=list)  # FileScan with error

    def lines(self, records_read: int, what: str = "records") -> list[str]:
        out = [f"read {records_read} {what} from {self.files} files; skipped "
               f"{'nothing' if not self.damaged else f'the rest of {len(self.damaged)} damaged files'}"]
        out += [f"  skipped after record {s.records} of {s.path}: {s.error}" for s in self.damaged]
        return out


def record_dataset(files: list[str], skip_corrupt: bool = False, compression: str | None = None,
                   report: ReadReport | None = None, interleave: bool = False,
                   shuffle_seed: int | None = None, shuffle_files: bool = False) -> tf.data.Dataset:
    """Serialized records of ``files``: in file order, or 8 files interleaved (``interleave``),
    with the file order reshuffled every epoch when ``shuffle_files``.

    With ``skip_corrupt`` the files are scanned first and damaged ones are read only up to
    their first bad record (``report`` receives them).
    """
    limits = {}
    if report is not None:
        report.files = len(files)
    if skip_corrupt:
        for path in files:
            scan = scan_file(path, compression)
            if scan.error:
                limits[path] = scan.records
                if report is not None:
                    report.damaged.append(scan)
    takes = tf.constant([limits.get(f, -1) for f in files], tf.int64)  # -1: the whole file
    pairs = tf.data.Dataset.from_tensor_slices((files, takes))
    if shuffle_files:
        pairs = pairs.shuffle(len(files), seed=shuffle_seed, reshuffle_each_iteration=True)
    read = lambda f, n: tf.data.TFRecordDataset(f, compression_type=compression).take(n)  # noqa: E731
    if interleave and len(files) > 1:
        return pairs.interleave(read, cycle_length=min(len(files), 8),
                                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return pairs.interleave(read, cycle_length=1)


def summarize(error: tf.errors.OpError) -> str:
    """The useful part of a TensorFlow op error: an assertion's text or the message's first line."""
    text = str(error.message if hasattr(error, "message") else error)
    marker = "assertion failed: ["
    if marker in text:  # TensorFlow escapes quotes inside assertion messages
        return text[text.index(marker) + len(marker):].split("]", 1)[0].replace("\\'", "'")
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text).strip()
    checked = "StringToNumberOp could not correctly convert string: "  # parsing.fail_unless
    if checked in text:
        return text[text.index(checked) + len(checked):].splitlines()[0].strip()
    if text.startswith("Graph execution error"):  # the message follows the op's traceback
        plain = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith((" ", "\t"))
                 and not ln.startswith(("Graph execution error", "Detected at node"))]
        text = plain[-1] if plain else text
    first = text.splitlines()[0] if text else type(error).__name__
    first = re.sub(r"\s+", " ", first.split(" [[", 1)[0]).strip()
    first = re.sub(r"\s*\[Op:\w+\]( name:.*)?$", "", first)[:300]  # eager ops' suffix
    bad_label = re.search(r"indices\[[^\]]*\] = (-?\d+) is not in \[0, (\d+)\)", first)
    if bad_label and int(bad_label.group(2)) == F.NUM_CLASSES:  # parsing.multi_hot's check
        return (f"labels: label id {bad_label.group(1)} is outside [0, {F.NUM_CLASSES}) "
                "(the YT8M vocabulary)")
    if "Key: " in first:  # a parse error: the record's features differ from the expected spec
        first += " (check --feature_names / --feature_sizes / --frame_features against the data)"
    return first


def locate_bad_record(files: list[str], check_batch, compression: str | None = None,
                      chunk: int = 256) -> str | None:
    """``file: record i`` of the first record that ``check_batch`` (a parse of serialized
    records) rejects; None if every record passes."""
    for path in files:
        ds = tf.data.TFRecordDataset(path, compression_type=compression).batch(chunk)
        for n, batch in enumerate(ds):
            try:
                check_batch(batch)
                continue
            except tf.errors.InvalidArgumentError:
                pass
            for i in range(int(batch.shape[0])):
                try:
                    check_batch(batch[i:i + 1])
                except tf.errors.InvalidArgumentError:
                    return f"{path}: record {n * chunk + i}"
    return None


@contextlib.contextmanager
def corruption_named(files: list[str], check_batch=None,
                     compression: str | None = None) -> Iterator[None]:
    """Turns TensorFlow's anonymous data errors into a one-line DataError naming the file and
    record: DataLossError (corrupt/truncated shard) and, when ``check_batch`` re-parses records,
    InvalidArgumentError (records that do not match the expected features or label range)."""
    try:
        yield
    except tf.errors.DataLossError as e:
        scan = first_corruption(files, compression)
        where = describe(scan) if scan else f"one of {len(files)} files: {str(e).splitlines()[0]}"
        raise DataError(f"{where}; set `skip_corrupt_records` to use the readable part "
                        "of damaged files") from None
    except tf.errors.InvalidArgumentError as e:
        where = locate_bad_record(files, check_batch, compression) if check_batch else None
        raise DataError(f"{where or f'one of {len(files)} input files'}: {summarize(e)}") from None
