"""A local HTTP stand-in for the open-source KFP API server (``/apis/v2beta1``) that records
every request ``kfp.Client`` sends: pipelines (upload, versions, lookup by name), experiments,
runs. A run reports the task states it is given, one step per ``GET``, then its final state.
"""
from __future__ import annotations

import cgi
import dataclasses
import io
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/apis/v2beta1"


@dataclasses.dataclass
class Request:
    method: str
    path: str
    query: dict
    body: object  # JSON, or {"file": bytes, **form fields} for uploads


class KfpApi:
    """``start()`` returns the base URL. ``script``: the task states each GET of a run shows,
    ending with the run's state, e.g. ``[{"Trainer": "RUNNING"}, ..., "SUCCEEDED"]``."""

    def __init__(self, script=None, refuse: dict | None = None):
        self.requests: list[Request] = []
        self.pipelines: dict[str, dict] = {}
        self.versions: dict[str, list] = {}
        self.experiments: dict[str, dict] = {}
        self.runs: dict[str, dict] = {}
        self.script = list(script or ["SUCCEEDED"])
        self.refuse = refuse or {}  # "METHOD /path-suffix" -> HTTP status
        self._server = None

    def start(self) -> str:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                api._handle(self, "GET")

            def do_POST(self):
                api._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # --- requests ------------------------------------------------------------------------------
    def _handle(self, handler, method):
        url = urllib.parse.urlparse(handler.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        body = self._body(handler)
        self.requests.append(Request(method, url.path, query, body))
        for key, status in self.refuse.items():
            refused_method, _, suffix = key.partition(" ")
            if method == refused_method and url.path.endswith(suffix):
                return self._send(handler, status, {"error": "refused by the test",
                                                    "code": status})
        route = url.path[len(PREFIX):] if url.path.startswith(PREFIX) else url.path
        status, payload = self._route(method, route, query, body)
        self._send(handler, status, payload)

    @staticmethod
    def _body(handler):
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        kind = handler.headers.get("Content-Type", "")
        if kind.startswith("multipart/form-data"):
            form = cgi.FieldStorage(fp=io.BytesIO(raw), headers=handler.headers,
                                    environ={"REQUEST_METHOD": "POST", "CONTENT_TYPE": kind})
            return {key: (form[key].file.read() if form[key].filename else form[key].value)
                    for key in form.keys()}
        return json.loads(raw) if raw else None

    @staticmethod
    def _send(handler, status, payload):
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, method, route, query, body):
        if method == "GET" and route == "/healthz":
            return 200, {"multi_user": False}
        if method == "GET" and route == "/pipelines":
            wanted = json.loads(query.get("filter", "{}"))
            names = [p.get("stringValue", p.get("string_value")) for p in wanted.get("predicates", [])]
            found = [p for p in self.pipelines.values() if not names or p["display_name"] in names]
            return 200, {"pipelines": found, "total_size": len(found)}
        if method == "POST" and route == "/pipelines/upload":
            pid = f"pipeline-{len(self.pipelines) + 1}"
            self.pipelines[pid] = {"pipeline_id": pid, "display_name": query["name"]}
            self.versions[pid] = [{"pipeline_id": pid, "pipeline_version_id": f"{pid}-v1",
                                   "display_name": query["name"]}]
            return 200, self.pipelines[pid]
        if method == "POST" and route == "/pipelines/upload_version":
            pid = query["pipelineid"]
            version = {"pipeline_id": pid, "display_name": query["name"],
                       "pipeline_version_id": f"{pid}-v{len(self.versions[pid]) + 1}"}
            self.versions[pid].append(version)
            return 200, version
        if method == "GET" and route.startswith("/pipelines/") and route.endswith("/versions"):
            pid = route.split("/")[2]
            return 200, {"pipeline_versions": list(reversed(self.versions[pid])),
                         "total_size": len(self.versions[pid])}
        if method == "GET" and route == "/experiments":
            wanted = json.loads(query.get("filter", "{}"))
            names = [p.get("stringValue", p.get("string_value")) for p in wanted.get("predicates", [])]
            found = [e for e in self.experiments.values() if e["display_name"] in names]
            return 200, {"experiments": found, "total_size": len(found)}
        if method == "POST" and route == "/experiments":
            eid = f"experiment-{len(self.experiments) + 1}"
            self.experiments[eid] = {**body, "experiment_id": eid}
            return 200, self.experiments[eid]
        if method == "POST" and route == "/runs":
            rid = f"run-{len(self.runs) + 1}"
            self.runs[rid] = {**body, "run_id": rid, "state": "PENDING", "_step": 0}
            return 200, self._public(self.runs[rid])
        if method == "GET" and route.startswith("/runs/"):
            run = self.runs[route.split("/")[2]]
            step = self.script[min(run["_step"], len(self.script) - 1)]
            run["_step"] += 1
            if isinstance(step, dict):
                run["state"] = "RUNNING"
                run["run_details"] = {"task_details": [
                    {"display_name": name, "state": state} for name, state in step.items()]}
            else:
                run["state"] = step
            return 200, self._public(run)
        return 404, {"error": f"no route {method} {route}", "code": 404}

    @staticmethod
    def _public(run):
        return {k: v for k, v in run.items() if not k.startswith("_")}
