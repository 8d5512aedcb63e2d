"""The dataset's own shards: download plans, shard fractions, verified and resumable downloads.

The dataset's download plan for a partition (``2/frame/train``, ``3/video/validate``, ...) is a
JSON index ``{"files": {"trainAb.tfrecord": "<md5>", ...}}`` at
``{plan base}/{version}/download_plans/{level}_{split}.json``; the files are at
``{mirror base}/{partition}/{name}``. As the dataset's own downloader does, ``shard=(x, n)`` keeps
the files whose name's MD5, as an integer, is ``x - 1`` modulo ``n``, and a two-letter file id is
saved under its 4-digit index (``trainAb.tfrecord`` -> ``train1613.tfrecord``).

Each file streams to ``NAME.part`` while its MD5 is computed; only a file whose MD5 matches the
index is renamed into place, so a file at its final name is always complete. A dropped connection
resumes the ``.part`` file with an HTTP Range request (or starts over when the server ignores
ranges); an MD5 mismatch starts the file over; both up to ``retries`` times.

The index gives no sizes, so a file is capped by a ceiling (``MAX_FILE_MB``, 4 GiB: the dataset's
largest shards are a few hundred MB) and by an overall deadline (``FILE_DEADLINE_S``) over all its
attempts: a server that streams forever, or a byte a minute, ends with an error naming the file.
A plan is capped too (``MAX_PLAN_BYTES``; the real ones are a few hundred KB).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import json
import os
import socket
import string
import threading
import time


LEVELS = {"video": "video", "video_level": "video", "frame": "frame", "frame_level": "frame"}
SPLITS = ("train", "validate", "test")
PLAN_BASE = "http://data.yt8m.org"
MIRROR_BASE = "http://{mirror}.data.yt8m.org"
MIRRORS = ("us", "eu", "asia")
_FILE_IDS = ["".join(p) for p in itertools.product(
    string.ascii_lowercase + string.ascii_uppercase + string.digits, repeat=2)]
FILE_INDEX = {file_id: i for i, file_id in enumerate(_FILE_IDS)}
CHUNK = 1 << 20
MAX_FILE_MB = 4096.0
FILE_DEADLINE_S = 3600.0
MAX_PLAN_BYTES = 16 << 20


@dataclasses.dataclass(frozen=True)
class Partition:
    version: str
    level: str  # as written in the partition (video, frame, video_level, frame_level)
    split: str

    @classmethod
    def parse(cls, text: str) -> "Partition":
        parts = text.strip("/").split("/")
        if len(parts) != 3 or not parts[0].isdigit() or parts[1] not in LEVELS \
                or parts[2] not in SPLITS:
            raise ValueError(f"`partition` must be VERSION/LEVEL/SPLIT such as 2/frame/train or "
                             f"3/video/validate (level one of {', '.join(LEVELS)}, split one of "
                             f"{', '.join(SPLITS)}), got {text!r}")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.version}/{self.level}/{self.split}"

    def plan_url(self, base: str) -> str:
        return f"{base.rstrip('/')}/{self.version}/download_plans/{self.level}_{self.split}.json"


def parse_shard(text: str) -> tuple[int, int]:
    try:
        x, n = (int(v) for v in text.split(","))
    except ValueError:
        x = n = 0
    if not 1 <= x <= n:
        raise ValueError(f"`shard` must be 'X,N' with 1 <= X <= N (download the X-th of N "
                         f"deterministic parts), got {text!r}")
    return x, n


def in_shard(name: str, shard: tuple[int, int]) -> bool:
    return int(hashlib.md5(name.encode()).hexdigest(), 16) % shard[1] == shard[0] - 1


def local_name(name: str) -> str:
    """``trainAb.tfrecord`` -> ``train1613.tfrecord`` (the dataset downloader's naming)."""
    stem, dot, ext = name.partition(".")
    if len(stem) > 2 and stem[-2:] in FILE_INDEX:
        return f"{stem[:-2]}{FILE_INDEX[stem[-2:]]:04d}{dot}{ext}"
    return name


def read_plan(text: str, where: str) -> dict[str, str]:
    """{remote file name: md5} of a download plan; ValueError naming where for a bad one."""
    if len(text) > MAX_PLAN_BYTES:
        raise ValueError(f"{where}: a download plan of {len(text):,} characters, above the "
                         f"{MAX_PLAN_BYTES:,} a plan of the dataset's needs")
    try:
        files = json.loads(text)["files"]
    except RecursionError:
        raise ValueError(f"{where}: not a download plan (JSON nested too deeply)") from None
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{where}: not a download plan ({e}); expected {{\"files\": {{name: "
                         "md5}}}") from None
    if not isinstance(files, dict):
        raise ValueError(f"{where}: not a download plan: \"files\" is a {type(files).__name__}, "
                         "expected {name: md5}")
    for name, md5 in files.items():
        if not name or "/" in name or "\\" in name or name.startswith(".") \
                or any(ord(c) < 32 or c == "\x7f" for c in name) \
                or not isinstance(md5, str) or len(md5) != 32:
            raise ValueError(f"{where}: bad entry {name!r}: {md5!r} (a plain file name and an MD5)")
    return files


def _open_part(part: str, append: bool):
    """The ``.part`` file for writing, never through a symbolic link planted in its place
    (O_NOFOLLOW: an error instead)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if append else os.O_TRUNC)
    return os.fdopen(os.open(part, flags, 0o644), "ab" if append else "wb")


class Downloader:
    """HTTP sessions with urllib3's connection-level retries (one per thread: a requests Session
    is not documented as thread-safe); ``fetch`` downloads one verified file."""

    def __init__(self, retries: int = 3, timeout: float = 60.0, backoff: float = 0.5,
                 max_bytes: int = int(MAX_FILE_MB * 2**20), deadline: float = FILE_DEADLINE_S):
        self.retries, self.timeout, self.backoff = retries, timeout, backoff
        self.max_bytes, self.deadline = max_bytes, deadline
        self._local = threading.local()

    @property
    def session(self):
        if not hasattr(self._local, "session"):
            import requests
            from requests.adapters import HTTPAdapter
            from urllib3.util.retry import Retry

            retry = Retry(total=self.retries, backoff_factor=self.backoff,
                          status_forcelist=(429, 500, 502, 503, 504), allowed_methods=("GET",))
            session = requests.Session()
            session.mount("http://", HTTPAdapter(max_retries=retry))
            session.mount("https://", HTTPAdapter(max_retries=retry))
            self._local.session = session
        return self._local.session

    def text(self, url: str) -> str:
        """A download plan's text, read up to MAX_PLAN_BYTES (one byte more is a ValueError)."""
        with self.session.get(url, timeout=self.timeout, stream=True) as response:
            response.raise_for_status()
            body = b""
            for chunk in response.iter_content(CHUNK):
                body += chunk
                if len(body) > MAX_PLAN_BYTES:
                    raise ValueError(f"{url}: more than {MAX_PLAN_BYTES:,} bytes; a download "
                                     "plan of the dataset's is a few hundred KB")
            return body.decode(response.encoding or "utf-8", errors="replace")

    def fetch(self, url: str, path: str, md5: str) -> int:
        """Downloads url to path, verified against md5; returns the bytes received.

        Raises:
          IOError: naming the url after the retries (MD5 mismatch, dropped connections, HTTP).
        """
        import requests

        part = path + ".part"
        if os.path.islink(part) or os.path.islink(path):
            raise IOError(f"{part if os.path.islink(part) else path}: a symbolic link where the "
                          "download writes; refusing to write through it")
        received, last_error = 0, "no attempt"
        ends = time.monotonic() + self.deadline
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            digest = hashlib.md5()
            have = 0
            if os.path.exists(part):  # resume: hash what is there, ask for the rest
                with open(part, "rb") as f:
                    for chunk in iter(lambda: f.read(CHUNK), b""):
                        digest.update(chunk)
                        have += len(chunk)
            headers = {"Range": f"bytes={have}-"} if have else {}
            try:
                with self.session.get(url, headers=headers, stream=True,
                                      timeout=self.timeout) as response:
                    if response.status_code == 416:  # the .part is already whole (or too long)
                        pass
                    else:
                        response.raise_for_status()
                        if have and response.status_code != 206:  # server ignored the range
                            digest, have = hashlib.md5(), 0
                        expected = int(response.headers.get("Content-Length", -1))
                        self._check_size(url, part, have + max(expected, 0))
                        body = 0
                        # a read blocks until a whole chunk arrives: past the deadline a timer
                        # shuts the connection down, which ends the read
                        watchdog = threading.Timer(max(0.0, ends - time.monotonic()), _abort,
                                                   (response,))
                        watchdog.daemon = True
                        watchdog.start()
                        try:
                            with _open_part(part, append=bool(have)) as f:
                                for chunk in response.iter_content(CHUNK):
                                    f.write(chunk)
                                    digest.update(chunk)
                                    body += len(chunk)
                                    self._check_size(url, part, have + body)
                                    self._check_deadline(url, ends)
                        except _Final:
                            raise
                        except Exception:  # noqa: BLE001 (what a closed response raises varies)
                            self._check_deadline(url, ends)
                            raise
                        finally:
                            watchdog.cancel()
                        self._check_deadline(url, ends)
                        received += body
                        if 0 <= body < expected:  # closed early: keep the .part, resume it
                            last_error = f"connection dropped after {body} of {expected} bytes"
                            continue
            except requests.HTTPError as e:
                status = e.response.status_code if e.response is not None else "?"
                reason = e.response.reason if e.response is not None else ""
                last_error = f"HTTP {status} {reason}".strip()
                if isinstance(status, int) and 400 <= status < 500 and status not in (408, 429):
                    raise IOError(f"{url}: {last_error} (not retried: asking again does not "
                                  "help)") from None
                continue
            except _Final:
                raise
            except (requests.RequestException, OSError) as e:
                last_error = f"connection: {type(e).__name__}"
                continue
            if digest.hexdigest() == md5:
                os.replace(part, path)
                return received
            last_error = f"MD5 {digest.hexdigest()} != index {md5}"
            os.remove(part)
        if os.path.exists(part) and last_error.startswith("MD5"):
            os.remove(part)
        raise IOError(f"{url}: {last_error} after {self.retries + 1} attempts")

    def _check_size(self, url: str, part: str, size: int) -> None:
        """Over the cap: the ``.part`` is removed (it cannot become the file) and not retried."""
        if size > self.max_bytes:
            with contextlib.suppress(OSError):
                os.remove(part)
            raise _Final(f"{url}: more than {self.max_bytes / 2**20:g} MB (the download's "
                         "ceiling per file, `max_file_mb`); not a file of the dataset's")

    def _check_deadline(self, url: str, ends: float) -> None:
        """Past the per-file deadline: the ``.part`` is kept (a re-run resumes it), not retried."""
        if time.monotonic() > ends:
            raise _Final(f"{url}: not complete after {self.deadline:g} s (the per-file deadline, "
                         "`file_deadline`); the part received is kept for a re-run")


def _abort(response) -> None:
    """Ends a read blocked in another thread (shutting the socket down wakes it; closing the
    response alone does not)."""
    # urllib3 1.26 -> http.client's response -> its socket file -> the socket
    sock = getattr(getattr(getattr(getattr(response.raw, "_fp", None), "fp", None), "raw", None),
                   "_sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    response.close()


class _Final(OSError):
    """A download error that asking again would not mend."""

