"""A local stand-in for Vertex AI Training's JobService, reached the way Vertex is reached.

TFX's Vertex AI Training extension Trainer calls ``JobService.CreateCustomJob`` on
``{region}-aiplatform.googleapis.com:443`` over gRPC, then polls ``GetCustomJob``. Its gRPC
channel honours ``https_proxy``: the GCS gateway (``gcs.Gateway.route``) tunnels that host to
this TLS gRPC server on 127.0.0.1. The server keeps every request it gets, and runs a job as
Vertex does: every replica of every worker pool as a process running the pool's
``container_spec.command`` (``python`` is this interpreter, standing in for the image's), with
``TF_CONFIG`` and ``CLUSTER_SPEC`` naming the cluster (pool 0: ``chief``; pool 1: ``worker``)
on 127.0.0.1 ports. The job succeeds when every replica exits 0.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

import grpc
from google.cloud.aiplatform_v1.types import custom_job as custom_job_pb
from google.cloud.aiplatform_v1.types import job_service, job_state

from tests.net import free_ports

SERVICE = "google.cloud.aiplatform.v1.JobService"
_POOL_TYPES = ("chief", "worker")


@dataclasses.dataclass
class Replica:
    task_type: str
    index: int
    returncode: int | None = None
    log: str = ""


@dataclasses.dataclass
class Job:
    name: str
    request: dict  # the CreateCustomJobRequest as JSON (what TFX sent)
    replicas: list = dataclasses.field(default_factory=list)
    state: int = job_state.JobState.JOB_STATE_PENDING
    error: str = ""
    done: threading.Event = dataclasses.field(default_factory=threading.Event)


class JobService:
    """The fake service; ``start()`` returns its port, ``jobs`` holds what it was asked."""

    def __init__(self, env: dict, cert: str, key: str, log_dir: str):
        self.env, self.log_dir = env, log_dir
        with open(cert, "rb") as f:
            cert_pem = f.read()
        with open(key, "rb") as f:
            key_pem = f.read()
        self._credentials = grpc.ssl_server_credentials([(key_pem, cert_pem)])
        self.jobs: list[Job] = []
        self._server = None

    def start(self) -> int:
        handlers = {
            "CreateCustomJob": grpc.unary_unary_rpc_method_handler(
                self._create, request_deserializer=job_service.CreateCustomJobRequest.deserialize,
                response_serializer=custom_job_pb.CustomJob.serialize),
            "GetCustomJob": grpc.unary_unary_rpc_method_handler(
                self._get, request_deserializer=job_service.GetCustomJobRequest.deserialize,
                response_serializer=custom_job_pb.CustomJob.serialize)}
        self._server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, handlers),))
        port = self._server.add_secure_port("127.0.0.1:0", self._credentials)
        self._server.start()
        return port

    def stop(self) -> None:
        if self._server:
            self._server.stop(grace=None)

    # --- RPCs ---------------------------------------------------------------------------------
    def _create(self, request, context):
        name = f"{request.parent}/customJobs/{len(self.jobs) + 1}"
        job = Job(name, json.loads(job_service.CreateCustomJobRequest.to_json(request)))
        self.jobs.append(job)
        threading.Thread(target=self._run, args=(job, request.custom_job), daemon=True).start()
        return self._message(job, request.custom_job)

    def _get(self, request, context):
        job = next(j for j in self.jobs if j.name == request.name)
        # Answer as soon as the job ends, within the caller's deadline (TFX polls every 30 s).
        remaining = context.time_remaining()
        job.done.wait(timeout=max(0.0, min(remaining - 1.0, 60.0)) if remaining else 60.0)
        spec = job_service.CreateCustomJobRequest.from_json(json.dumps(job.request)).custom_job
        return self._message(job, spec)

    @staticmethod
    def _message(job: Job, spec) -> custom_job_pb.CustomJob:
        out = custom_job_pb.CustomJob(name=job.name, display_name=spec.display_name,
                                      job_spec=spec.job_spec, state=job.state)
        if job.error:
            out.error.message = job.error
        return out

    # --- running a job --------------------------------------------------------------------------
    def _run(self, job: Job, spec) -> None:
        pools = list(spec.job_spec.worker_pool_specs)
        counts = [int(p.replica_count or 1) for p in pools]
        ports = iter(free_ports(sum(counts)))
        cluster = {}
        for pool_index, count in enumerate(counts):
            kind = _POOL_TYPES[pool_index]
            cluster.setdefault(kind, []).extend(f"127.0.0.1:{next(ports)}" for _ in range(count))
        job.state = job_state.JobState.JOB_STATE_RUNNING
        procs, scratches = [], []
        for pool_index, pool in enumerate(pools):
            kind = _POOL_TYPES[pool_index]
            for index in range(len(cluster[kind]) if kind == "worker" else 1):
                replica = Replica(kind, index)
                task = {"type": kind, "index": index}
                scratch = tempfile.mkdtemp(prefix=f"{kind}{index}-", dir=self.log_dir)
                scratches.append(scratch)  # each replica's own /tmp, as in its container
                env = dict(self.env, TF_CONFIG=json.dumps({"cluster": cluster, "task": task}),
                           CLUSTER_SPEC=json.dumps({"cluster": cluster, "task": task}),
                           TMPDIR=scratch)
                command = [sys.executable if c == "python" else c
                           for c in pool.container_spec.command] + list(pool.container_spec.args)
                replica.log = os.path.join(self.log_dir, f"{job.name.rsplit('/', 1)[-1]}-"
                                                          f"{kind}{index}.log")
                with open(replica.log, "w") as out:
                    procs.append((replica, subprocess.Popen(command, env=env, stdout=out,
                                                            stderr=subprocess.STDOUT)))
                job.replicas.append(replica)
        for replica, proc in procs:
            replica.returncode = proc.wait()
        for scratch in scratches:
            shutil.rmtree(scratch, ignore_errors=True)
        failed = [r for r in job.replicas if r.returncode != 0]
        if failed:
            with open(failed[0].log) as f:
                tail = f.read()[-2000:]
            job.error = f"replica {failed[0].task_type}:{failed[0].index} exited " \
                        f"{failed[0].returncode}: {tail}"
            job.state = job_state.JobState.JOB_STATE_FAILED
        else:
            job.state = job_state.JobState.JOB_STATE_SUCCEEDED
        job.done.set()
