"""``yt8m download``: the dataset's shards for a partition, as the dataset's downloader fetches
them (ingest/download.py), in parallel, resumable, verified, with a progress bar.

Files land in ``output_dir/{video,frame}/`` (the layout ``yt8m pipeline run --data_dir`` reads).
The plan is kept as ``output_dir/{version}_{level}_{split}_download_plan.json`` so a re-run needs
no new index; files already at their final names (only verified files get there) are skipped.
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


@dataclasses.dataclass(frozen=True)
class DownloadJob:
    partition: str
    output_dir: str
    shard: str = "1,1"
    mirror: str = "us"
    base_url: str | None = None  # plan and files under one base (a private mirror, a test server)
    num_workers: int = 4
    retries: int = 3
    timeout: float = 60.0

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
    downloader = lib.Downloader(job.retries, job.timeout)
    plan_path = os.path.join(job.output_dir, f"{str(partition).replace('/', '_')}_download_plan.json")
    os.makedirs(job.output_dir, exist_ok=True)
    if os.path.exists(plan_path):
        with open(plan_path, encoding="utf-8") as f:
            plan = lib.read_plan(f.read(), plan_path)
    else:
        url = partition.plan_url(plan_base)
        try:
            text = downloader.text(url)
        except Exception as e:  # noqa: BLE001 (requests' errors, after its retries)
            raise IOError(f"{url}: cannot fetch the download plan ({type(e).__name__}: "
                          f"{' '.join(str(e).split())[:160]})") from None
        plan = lib.read_plan(text, url)
        io_utils.write_text(plan_path, text)
    folder = os.path.join(job.output_dir, lib.LEVELS[partition.level])
    os.makedirs(folder, exist_ok=True)
    chosen = sorted(name for name in plan if lib.in_shard(name, shard))
    result = DownloadResult(selected=len(chosen))
    todo = [n for n in chosen if not os.path.exists(os.path.join(folder, lib.local_name(n)))]
    result.present = len(chosen) - len(todo)
    log(f"download: {partition} shard {job.shard}: {len(chosen)} of {len(plan)} files, "
        f"{result.present} already here, {len(todo)} to fetch into {folder}")

    def one(name: str) -> int:
        url = f"{files_base.rstrip('/')}/{partition}/{urllib.parse.quote(name)}"
        return downloader.fetch(url, os.path.join(folder, lib.local_name(name)), plan[name])

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
    result.seconds = time.time() - start
    return result
