"""A real ML Metadata gRPC server for the open-source KFP conformance run.

KFP's cluster runs Google's ``metadata_store_server`` binary; the ``ml_metadata`` wheel has no
server, but its ``MetadataStore`` over SQLite executes every ``MetadataStoreService`` RPC through
``_call`` (the same C++ library the server binary wraps). This generic servicer answers each
method of the service's descriptor with it, so the conformance run's driver and launcher
(tests/conformance/kfp_oss.py) and the tasks (``LatestBlessedModel`` through
``ml_metadata.MetadataStore(MetadataStoreClientConfig(host, port))``) all speak gRPC to one store.
"""
from __future__ import annotations

import concurrent.futures

import grpc
from ml_metadata import errors, metadata_store
from ml_metadata.proto import metadata_store_pb2, metadata_store_service_pb2

SERVICE = "ml_metadata.MetadataStoreService"


class MetadataServer:
    """``start()`` serves ``sqlite_path`` on 127.0.0.1; ``port``, ``client()``, ``stop()``."""

    def __init__(self, sqlite_path: str):
        config = metadata_store_pb2.ConnectionConfig()
        config.sqlite.filename_uri = sqlite_path
        config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        self._store = metadata_store.MetadataStore(config)
        self._server = None
        self.port = 0

    def start(self) -> int:
        handlers = {}
        service = metadata_store_service_pb2.DESCRIPTOR.services_by_name["MetadataStoreService"]
        for method in service.methods:
            request_cls = getattr(metadata_store_service_pb2, method.input_type.name)
            response_cls = getattr(metadata_store_service_pb2, method.output_type.name)
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                self._handler(method.name, response_cls),
                request_deserializer=request_cls.FromString,
                response_serializer=response_cls.SerializeToString)
        # One worker: SQLite calls run one at a time, as a single-replica server's would.
        self._server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=1))
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, handlers),))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        return self.port

    def _handler(self, name, response_cls):
        def handle(request, context):
            response = response_cls()
            try:
                self._store._call(name, request, response)  # pylint: disable=protected-access
            except errors.StatusError as e:
                code = next((c for c in grpc.StatusCode if c.value[0] == e.error_code),
                            grpc.StatusCode.UNKNOWN)
                context.abort(code, str(e))
            return response
        return handle

    def client(self) -> metadata_store.MetadataStore:
        return metadata_store.MetadataStore(metadata_store_pb2.MetadataStoreClientConfig(
            host="127.0.0.1", port=self.port))

    def env(self) -> dict:
        """What KFP's ``metadata-grpc-configmap`` gives every task."""
        return {"METADATA_GRPC_SERVICE_HOST": "127.0.0.1",
                "METADATA_GRPC_SERVICE_PORT": str(self.port)}

    def stop(self) -> None:
        if self._server:
            self._server.stop(grace=None)
