"""yt8m download against a local HTTP server on 127.0.0.1 that serves generated shards and a
download plan, with a corrupt file, a dropped connection and re-runs."""
import collections
import hashlib
import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from trainer_module.data import records
from trainer_module.data import synthetic
from trainer_module.ingest import download as lib
from trainer_module.jobs import download as job_lib


class Mirror:
    """Serves {path: bytes}; ``corrupt`` names are always served with one byte flipped, ``drop``
    names close the connection half-way through their first full response, ``endless`` names
    stream zeros forever (no length), ``slow`` names trickle one byte every 50 ms. Ranges
    honoured."""

    def __init__(self, files: dict, corrupt=(), drop=(), endless=(), slow=()):
        self.files, self.corrupt, self.drop = files, set(corrupt), set(drop)
        self.endless, self.slow = set(endless), set(slow)
        self.requests = collections.Counter()
        self.ranges = []
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                mirror.requests[self.path] += 1
                body = mirror.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                name = self.path.rsplit("/", 1)[-1]
                if name in mirror.endless | mirror.slow:
                    self._forever(name in mirror.slow)
                    return
                if name in mirror.corrupt:
                    body = body[:100] + bytes([body[100] ^ 0xFF]) + body[101:]
                start = 0
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].split("=")[1].rstrip("-"))
                    mirror.ranges.append((name, start))
                    self.send_response(206)
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if name in mirror.drop and not start:
                    mirror.drop.discard(name)
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

            def _forever(self, slow: bool):
                self.send_response(200)
                self.end_headers()
                self.close_connection = True
                try:
                    while True:
                        self.wfile.write(b"\0" if slow else bytes(1 << 16))
                        self.wfile.flush()
                        if slow:
                            time.sleep(0.05)
                except OSError:  # the client gave up
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def shards(tmp_path):
    """Six generated video-level train shards, named remotely as the dataset names them."""
    synthetic.generate(synthetic.GeneratorConfig(str(tmp_path / "gen"), num_videos=60,
                                                 num_shards=6, validate_fraction=0,
                                                 test_fraction=0), progress=False)
    remote = {}
    for i, path in enumerate(sorted((tmp_path / "gen" / "video").glob("train*.tfrecord"))):
        remote[f"train{lib._FILE_IDS[i * 7]}.tfrecord"] = path.read_bytes()
    return remote


def _serve(remote, **kw):
    files = {f"/2/video/train/{name}": body for name, body in remote.items()}
    plan = {"files": {name: hashlib.md5(body).hexdigest() for name, body in remote.items()}}
    files["/2/download_plans/video_train.json"] = json.dumps(plan).encode()
    return Mirror(files, **kw)


def _run(mirror, out, **kw):
    job = job_lib.DownloadJob(partition="2/video/train", output_dir=str(out), base_url=mirror.url,
                              retries=2, timeout=10, **kw)
    return job_lib.run(job, log=lambda *_: None, progress=False)


def test_download_verifies_resumes_and_reruns(tmp_path, shards):
    names = sorted(shards)
    corrupt, dropped = names[1], names[3]
    mirror = _serve(shards, corrupt=[corrupt], drop=[dropped])
    try:
        out = tmp_path / "data"
        result = _run(mirror, out, num_workers=3)
        assert (result.selected, result.downloaded, result.present) == (6, 5, 0)
        assert [name for name, _ in result.failed] == [corrupt]
        assert "MD5" in result.failed[0][1] and "after 3 attempts" in result.failed[0][1]
        # The corrupt file never reaches its final name, nor stays as a .part.
        local = {lib.local_name(n): n for n in names}
        assert sorted(p.name for p in (out / "video").iterdir()) == sorted(
            n for n in local if local[n] != corrupt)
        for name, remote in local.items():
            if remote != corrupt:
                assert (out / "video" / name).read_bytes() == shards[remote]
                assert records.scan_file(str(out / "video" / name)).error is None
        # The dropped connection was resumed from where it broke, not started over.
        assert mirror.ranges == [(dropped, len(shards[dropped]) // 2)]
        assert mirror.requests[f"/2/video/train/{corrupt}"] == 3

        # Re-run: the plan is kept, present files are skipped, only the failed one is asked for.
        mirror.corrupt.clear()
        mirror.requests.clear()
        again = _run(mirror, out)
        assert (again.present, again.downloaded, again.failed) == (5, 1, [])
        assert set(mirror.requests) == {f"/2/video/train/{corrupt}"}
        assert (out / "video" / lib.local_name(corrupt)).read_bytes() == shards[corrupt]
    finally:
        mirror.close()


def test_shard_fraction_is_the_dataset_downloaders(tmp_path, shards):
    mirror = _serve(shards)
    try:
        picked = set()
        for x in (1, 2, 3):
            result = _run(mirror, tmp_path / f"part{x}", shard=f"{x},3")
            got = {p.name for p in (tmp_path / f"part{x}" / "video").iterdir()}
            expected = {lib.local_name(n) for n in shards
                        if int(hashlib.md5(n.encode()).hexdigest(), 16) % 3 == x - 1}
            assert got == expected and result.downloaded == len(expected)
            picked |= got
        assert len(picked) == 6  # the three parts cover every file once
    finally:
        mirror.close()


def test_names_and_arguments():
    assert lib.local_name("trainAb.tfrecord") == "train1613.tfrecord"  # A = 26: 26 * 62 + 1
    assert lib.local_name("validate00.tfrecord") == "validate3276.tfrecord"
    assert lib.Partition.parse("3/frame/validate").plan_url("http://h") == \
        "http://h/3/download_plans/frame_validate.json"
    with pytest.raises(ValueError, match="`partition` must be VERSION/LEVEL/SPLIT"):
        lib.Partition.parse("2/frames/train")
    with pytest.raises(ValueError, match=r"`shard` must be 'X,N' with 1 <= X <= N"):
        lib.parse_shard("0,100")
    with pytest.raises(ValueError, match="bad entry '../x'"):
        lib.read_plan('{"files": {"../x": "0123456789abcdef0123456789abcdef"}}', "plan.json")


def test_http_status_named_names_encoded_links_refused(tmp_path, shards):
    """A 404 is reported with its status and not asked again; a name with '?' and '#' is
    URL-encoded; a symbolic link planted as a .part file is never written through."""
    odd = "train a?b#c.tfrecord"
    remote = dict(shards)
    remote[odd] = next(iter(shards.values()))
    mirror = _serve(remote)
    missing = sorted(shards)[0]
    del mirror.files[f"/2/video/train/{missing}"]
    mirror.files[f"/2/video/train/{urllib.parse.quote(odd)}"] = remote[odd]
    out = tmp_path / "data"
    (out / "video").mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("keep")
    planted = sorted(shards)[2]
    link = out / "video" / (lib.local_name(planted) + ".part")
    os.symlink(victim, link)
    try:
        with pytest.raises(ValueError, match=r"is not empty \(it holds .*part.\) and no yt8m command wrote it"):
            _run(mirror, out)  # a folder no download filled: refused before any request
        assert not mirror.requests
        os.remove(link)
        _run(mirror, out, shard="1,2")  # the download's own folder now (its manifest) ...
        os.symlink(victim, link)  # ... where a link is planted before the rest is fetched
        result = _run(mirror, out)
    finally:
        mirror.close()
    failed = dict(result.failed)
    assert failed[missing].endswith("HTTP 404 Not Found (not retried: asking again does not "
                                    "help)")
    assert mirror.requests[f"/2/video/train/{missing}"] <= 2  # once a run: not retried
    assert "a symbolic link where the download writes" in failed[planted]
    assert victim.read_text() == "keep"
    assert (out / "video" / odd).read_bytes() == remote[odd]


@pytest.mark.parametrize("name", ["a\nb.tfrecord", "a\x00b.tfrecord", "a\x1bb.tfrecord"])
def test_plan_names_with_control_characters_are_refused(name):
    plan = json.dumps({"files": {name: "0" * 32}})
    with pytest.raises(ValueError, match="plan: bad entry"):
        lib.read_plan(plan, "plan")


def test_endless_or_slow_files_end_with_a_named_error(tmp_path, shards):
    """The index gives no sizes: a file is capped by --max_file_mb (its .part removed) and by
    --file_deadline over all attempts (its .part kept for a re-run); the other files arrive."""
    names = sorted(shards)
    endless, slow = names[0], names[1]
    mirror = _serve(shards, endless=[endless], slow=[slow])
    out = tmp_path / "data"
    try:
        result = _run(mirror, out, max_file_mb=1, file_deadline=2)
    finally:
        mirror.close()
    failed = dict(result.failed)
    assert set(failed) == {endless, slow}
    assert "more than 1 MB (the download's ceiling per file, `max_file_mb`)" in failed[endless]
    assert "not complete after 2 s (the per-file deadline, `file_deadline`)" in failed[slow]
    assert mirror.requests[f"/2/video/train/{endless}"] == 1  # neither is asked again
    assert mirror.requests[f"/2/video/train/{slow}"] == 1
    assert not (out / "video" / (lib.local_name(endless) + ".part")).exists()
    assert (out / "video" / (lib.local_name(slow) + ".part")).exists()
    assert result.downloaded == len(shards) - 2


def test_a_file_no_download_wrote_is_checked_by_content(tmp_path, shards):
    """Resume by content: a file at a planned name that no earlier download wrote is kept when
    its MD5 is the plan's (not fetched again) and refused, never replaced, when it is not."""
    first = {n for n in shards if lib.in_shard(n, (1, 2))}
    later = sorted(set(shards) - first)[0]
    mirror = _serve(shards)
    out = tmp_path / "data"
    try:
        _run(mirror, out, shard="1,2")  # the download's own folder, half of the files
        mine = out / "video" / lib.local_name(later)
        mine.write_bytes(b"my own file")
        with pytest.raises(ValueError, match=r"is not the plan's file \(MD5 differs\) and no "
                                             r"earlier download wrote it"):
            _run(mirror, out)
        assert mine.read_bytes() == b"my own file"
        mine.write_bytes(shards[later])  # the plan's bytes, copied in by hand
        result = _run(mirror, out)
        assert mirror.requests[f"/2/video/train/{later}"] == 0
        assert result.present == len(first) + 1 and not result.failed
        manifest = json.loads((out / ".yt8m-download_2_video_train.json").read_text())
        assert manifest["files"][f"video/{lib.local_name(later)}"]["md5"] == \
            hashlib.md5(shards[later]).hexdigest()
    finally:
        mirror.close()


def test_an_endless_or_nested_plan_is_refused(tmp_path):
    with pytest.raises(ValueError, match="plan: not a download plan \\(JSON nested too deeply"):
        lib.read_plan("[" * 100_000 + "]" * 100_000, "plan")
    mirror = Mirror({"/2/download_plans/video_train.json": b"{" + b" " * (17 << 20)})
    try:
        with pytest.raises(OSError, match="cannot fetch the download plan .*more than "
                                          "16,777,216 bytes; a download plan"):
            _run(mirror, tmp_path / "data")
    finally:
        mirror.close()
