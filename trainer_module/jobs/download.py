"""``yt8m download``: the dataset's shards for a partition, as the dataset's downloader fetches
them (ingest/download.py), in parallel, resumable, verified, with a progress bar.

Files land in ``output_dir/{video,frame}/`` (the layout ``yt8m pipeline run --data_dir`` reads).
The plan is kept as ``output_dir/{version}_{level}_{split}_download_plan.json`` so a re-run needs
no new index. The folder's manifest (``output_folder``) lists each file this download verified
(MD5 and size): a re-run skips those still of that size; a file at a planned name that no earlier
download wrote is skipped only when its MD5 is the plan's, and refused otherwise (never replaced).
Each file is capped in size (``max_file_mb``) and in time (``file_deadline``).
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import sys
import time
import urllib.parse

from trainer_module import io_utils
from trainer_module.ingest import download as lib
from trainer_module.output_folder import OutputFolder, digest


@dataclasses.dataclass(frozen=True, kw_only=True)
class DownloadJob:
    partition: str
    output_dir: str
    shard: str = "1,1"
    mirror: str = "us"
    base_url: str | None = None  # plan and files under one base (a private mirror, a test server)
    num_workers: int = 4
    retries: int = 3
    timeout: float = 60.0
    max_file_mb: float = lib.MAX_FILE_MB
    file_deadline: float = lib.FILE_DEADLINE_S
    overwrite: bool = False

    def __post_init__(self):
        lib.Partition.parse(self.partition)
        lib.parse_shard(self.shard)
        if self.mirror not in lib.MIRRORS:
            raise ValueError(f"`mirror` must be one of {', '.join(lib.MIRRORS)}, got {self.mirror!r}")
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"`base_url` must be an http(s) URL, got {self.base_url!r}")
        if not 1 <= self.num_workers <= 64:
            raise ValueError(f"`num_workers` must be in [1, 64], got {self.num_workers}")
        if self.retries < 0 or self.timeout <= 0:
            raise ValueError("`retries` must be >= 0 and `timeout` > 0")
        if not (self.max_file_mb > 0 and self.file_deadline > 0):
            raise ValueError("`max_file_mb` and `file_deadline` must be > 0")


@dataclasses.dataclass
class DownloadResult:
    selected: int = 0
    present: int = 0
    downloaded: int = 0
    bytes: int = 0
    failed: list = dataclasses.field(default_factory=list)  # (file, reason)
    seconds: float = 0.0


def run(job: DownloadJob, log=print, progress: bool = True) -> DownloadResult:
    from tqdm import tqdm

    start = time.time()
    partition = lib.Partition.parse(job.partition)
    shard = lib.parse_shard(job.shard)
    plan_base = job.base_url or lib.PLAN_BASE
    files_base = job.base_url or lib.MIRROR_BASE.format(mirror=job.mirror)
    downloader = lib.Downloader(job.retries, job.timeout, max_bytes=int(job.max_file_mb * 2**20),
                                deadline=job.file_deadline)
    out = OutputFolder(job.output_dir, f"download {partition}",
                       {"source": job.base_url or "the dataset's hosts"},
                       overwrite=job.overwrite).claim()
    plan_name = f"{str(partition).replace('/', '_')}_download_plan.json"
    plan_path = os.path.join(job.output_dir, plan_name)
    if out.owns(plan_name) and os.path.exists(plan_path):
        plan = lib.read_plan(io_utils.read_text(plan_path, "download plan"), plan_path)
    else:
        out.will_write(plan_name)
        url = partition.plan_url(plan_base)
        try:
            text = downloader.text(url)
        except Exception as e:  # noqa: BLE001 (requests' errors, after its retries)
            raise IOError(f"{url}: cannot fetch the download plan ({type(e).__name__}: "
                          f"{' '.join(str(e).split())[:160]})") from None
        plan = lib.read_plan(text, url)
        io_utils.write_text(plan_path, text)
        out.wrote(plan_name)
    level = lib.LEVELS[partition.level]
    os.makedirs(os.path.join(job.output_dir, level), exist_ok=True)
    chosen = sorted(name for name in plan if lib.in_shard(name, shard))
    result = DownloadResult(selected=len(chosen))
    rel = {name: os.path.join(level, lib.local_name(name)) for name in chosen}
    todo = [n for n in chosen if not _present(out, rel[n], plan[n])]
    result.present = len(chosen) - len(todo)
    log(f"download: {partition} shard {job.shard}: {len(chosen)} of {len(plan)} files, "
        f"{result.present} already here, {len(todo)} to fetch into "
        f"{os.path.join(job.output_dir, level)}")

    def one(name: str) -> int:
        url = f"{files_base.rstrip('/')}/{partition}/{urllib.parse.quote(name)}"
        path = os.path.join(job.output_dir, rel[name])
        received = downloader.fetch(url, path, plan[name])
        out.wrote(rel[name], every=2.0, md5=plan[name], size=os.path.getsize(path))
        return received

    bar = tqdm(total=len(todo), unit="file", desc="download", disable=not progress,
               file=sys.stderr)
    with concurrent.futures.ThreadPoolExecutor(job.num_workers) as pool:
        futures = {pool.submit(one, name): name for name in todo}
        for future in concurrent.futures.as_completed(futures):
            try:
                result.bytes += future.result()
                result.downloaded += 1
            except OSError as e:
                result.failed.append((futures[future], str(e)))
                bar.write(f"download: failed: {e}")
            bar.update(1)
            bar.set_postfix_str(f"{result.bytes / 1e6:.1f} MB")
    bar.close()
    out.flush()
    result.seconds = time.time() - start
    return result


def _present(out: OutputFolder, rel: str, md5: str) -> bool:
    """Whether the planned file is already here, by content: one this download verified (and
    still of its size), or another whose MD5 is the plan's (then recorded as verified)."""
    path = os.path.join(out.folder, rel)
    if not os.path.lexists(path):
        return False
    if os.path.islink(path) or not os.path.isfile(path):
        raise ValueError(f"{path}: not a regular file where the download writes; refusing to "
                         "write through or over it")
    size = os.path.getsize(path)
    known = out.files.get(rel)
    if known and known.get("md5") == md5 and known.get("size") == size:
        return True
    if digest(path, "md5") == md5:
        out.wrote(rel, every=2.0, md5=md5, size=size)
        return True
    if known:
        return False  # ours, damaged since: fetched again
    raise ValueError(f"{path} is not the plan's file (MD5 differs) and no earlier download "
                     "wrote it: refusing to replace it (move it away)")
