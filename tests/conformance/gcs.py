"""``gs://`` on this machine: a GCS emulator and a gateway that TensorFlow, Beam and gRPC reach.

* Beam's GCS client (google-cloud-storage) honours ``STORAGE_EMULATOR_HOST``: it talks plain
  HTTP to the emulator (PyPI ``gcp-storage-emulator``, in this process, in memory).
* TensorFlow's own GCS filesystem is hard-wired to ``https://www.googleapis.com`` and
  ``https://storage.googleapis.com``, but its libcurl honours ``https_proxy``/``http_proxy``:
  the gateway is that proxy. It accepts ``CONNECT`` only for ``*.googleapis.com:443`` (nothing
  ever leaves this machine), terminates TLS with a certificate made here for those names
  (``CURL_CA_BUNDLE``) and relays the requests to the emulator. No network namespace, no
  ``/etc/hosts`` change, no root needed.
* gRPC clients (Vertex AI's ``*-aiplatform.googleapis.com``) honour ``https_proxy`` as well:
  ``route(host_suffix, port)`` hands such tunnels, still encrypted, to a local TLS server
  (``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`` trusts the same certificate).
"""
from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import select
import socket
import socketserver
import ssl
import sys
import threading
from typing import Iterator

GOOGLEAPIS = ("www.googleapis.com", "storage.googleapis.com")
OAUTH = "oauth2.googleapis.com"
_TOKEN_BODY = json.dumps({"access_token": "local-test-token", "expires_in": 3600,
                          "token_type": "Bearer"}).encode()
_TOKEN_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                   b"Connection: close\r\n\r\n%s" % (len(_TOKEN_BODY), _TOKEN_BODY))


def make_certificate(directory: str) -> tuple[str, str]:
    """A self-signed certificate for *.googleapis.com; returns (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "googleapis.com (local test)")])
    now = datetime.datetime.now(datetime.timezone.utc)
    sans = [x509.DNSName(n) for n in (*GOOGLEAPIS, "*.googleapis.com", "localhost")]
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


def _pump(a: socket.socket, b: socket.socket) -> None:
    """Copies bytes both ways until either side closes (one thread: TLS objects stay unshared)."""
    socks = [a, b]
    while True:
        ready, _, _ = select.select(socks, [], [], 300)
        if not ready:
            return
        for s in ready:
            other = b if s is a else a
            try:
                data = s.recv(1 << 16)
            except ssl.SSLWantReadError:
                continue
            except OSError:
                return
            if not data:
                return
            other.sendall(data)
            while isinstance(s, ssl.SSLSocket) and s.pending():
                other.sendall(s.recv(1 << 16))


def _read_request(sock: socket.socket) -> bytes:
    """A request's head and its Content-Length body."""
    data = _read_head(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")[1:]
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    return data


class Gateway(socketserver.ThreadingTCPServer):
    """The HTTP(S) proxy described in the module docstring, on 127.0.0.1."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # Beam, TensorFlow and gRPC open many connections at once

    def __init__(self, emulator_port: int, cert: str, key: str):
        super().__init__(("127.0.0.1", 0), _GatewayHandler)
        self.emulator_port = emulator_port
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        self.routes: dict[str, int] = {}  # host suffix -> local port (raw tunnel)
        self.refused: list[str] = []
        self.errors: list[str] = []  # a connection the gateway failed on (the client saw EOF)

    def handle_error(self, request, client_address):
        """Kept and printed (pytest shows it with a failing test): a connection closed without
        an answer is otherwise only the client's 'Remote end closed connection'."""
        import traceback

        self.errors.append(traceback.format_exc())
        print(f"gateway: connection from {client_address} failed:\n{self.errors[-1]}",
              file=sys.stderr)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def route(self, host_suffix: str, port: int) -> None:
        self.routes[host_suffix] = port


class _GatewayHandler(socketserver.BaseRequestHandler):
    def handle(self):
        server: Gateway = self.server  # type: ignore[assignment]
        head = _read_head(self.request)
        method, target = (head.split(b" ", 2) + [b"", b""])[:2]
        if method == b"CONNECT":
            host, _, port = target.decode().partition(":")
            if host == OAUTH and port == "443":  # the test credentials' token endpoint
                self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                with server.tls.wrap_socket(self.request, server_side=True) as tls:
                    _read_request(tls)  # all of it: closing on unread bytes resets the
                    tls.sendall(_TOKEN_RESPONSE)  # connection, and the answer may be lost
                    tls.settimeout(5)
                    try:
                        tls.unwrap()  # close_notify before the socket closes
                    except OSError:
                        pass  # the client closed first: it has the answer
                return
            routed = next((p for suffix, p in server.routes.items() if host.endswith(suffix)), None)
            if port != "443" or (host not in GOOGLEAPIS and routed is None):
                server.refused.append(host)
                self.request.sendall(b"HTTP/1.1 403 Forbidden\r\n\r\n")
                return
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if routed is not None:
                with socket.create_connection(("127.0.0.1", routed)) as upstream:
                    _pump(self.request, upstream)
                return
            with server.tls.wrap_socket(self.request, server_side=True) as tls, \
                    socket.create_connection(("127.0.0.1", server.emulator_port)) as upstream:
                _pump(tls, upstream)
            return
        # A plain-HTTP proxy request (absolute URI): only for the googleapis hosts.
        url = target.decode()
        host = url.split("/")[2] if url.startswith("http://") else ""
        if host.split(":")[0] not in GOOGLEAPIS:
            server.refused.append(host or url)
            self.request.sendall(b"HTTP/1.1 403 Forbidden\r\n\r\n")
            return
        path = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
        head = head.replace(target, path.encode(), 1)
        with socket.create_connection(("127.0.0.1", server.emulator_port)) as upstream:
            upstream.sendall(head)
            _pump(self.request, upstream)


def _fix_emulator_uploads() -> None:
    """Two thin fixes to the emulator's request reading, for TensorFlow's uploads:

    * TensorFlow's resumable-upload PUT carries ``Transfer-Encoding: chunked`` *and* a
      ``Content-Length``; HTTP says the chunked coding wins, the emulator read Content-Length
      raw bytes and stored the chunk framing inside the object; and it joined the chunks with
      ``bytes +=`` (quadratic: an 85 MB model in 16 KB chunks copied ~200 GB and took minutes),
      read here into a list and joined once;
    * TensorFlow creates folders as empty objects (``a/b/``): the emulator reads an empty body
      as None and failed on it, where it means zero bytes.
    """
    from gcp_storage_emulator import server
    from gcp_storage_emulator.handlers import objects

    original = objects._media_upload
    if getattr(original, "_accepts_empty", False):
        return
    read_raw = server._read_raw_data

    def read_raw_data(handler):
        if (handler.headers.get("Transfer-Encoding") or "").lower() != "chunked":
            return read_raw(handler)
        parts = []
        while True:  # RFC 9112 7.1: size line, data, CRLF; a zero size ends the body
            line = handler.rfile.readline().split(b";")[0].strip()
            size = int(line, 16) if line else 0
            if size == 0:
                break
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()
        return b"".join(parts)

    server._read_raw_data = read_raw_data

    def media_upload(request, response, storage):
        if request.data is None:
            request._data = b""
        return original(request, response, storage)

    media_upload._accepts_empty = True
    objects._media_upload = media_upload


@contextlib.contextmanager
def serve(work_dir: str, buckets: tuple[str, ...] = ("yt8m-test",)) -> Iterator["LocalGCS"]:
    """Starts the emulator (in memory) and the gateway; yields their settings."""
    from gcp_storage_emulator.server import create_server

    _fix_emulator_uploads()
    logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
    emulator = create_server("127.0.0.1", 0, in_memory=True, default_bucket=buckets[0])
    emulator.start()
    emulator_port = emulator._api._httpd.server_address[1]
    cert, key = make_certificate(work_dir)
    gateway = Gateway(emulator_port, cert, key)
    thread = threading.Thread(target=gateway.serve_forever, daemon=True)
    thread.start()
    local = LocalGCS(emulator_port, gateway, cert, key, work_dir)
    try:
        for bucket in buckets[1:]:
            local.create_bucket(bucket)
        yield local
    finally:
        gateway.shutdown()
        gateway.server_close()
        emulator.stop()


class LocalGCS:
    """The running emulator and gateway: the environment that points clients at them."""

    def __init__(self, emulator_port: int, gateway: Gateway, cert: str, key: str, work_dir: str):
        self.emulator_port, self.gateway, self.cert, self.key = emulator_port, gateway, cert, key
        # Application default credentials whose token the gateway hands out (as
        # oauth2.googleapis.com): clients that insist on credentials (Beam retries for ~20 s
        # without them, Vertex's gRPC client fails) get them with no Google account.
        self.credentials = os.path.join(work_dir, "credentials.json")
        with open(self.credentials, "w", encoding="utf-8") as f:
            json.dump({"type": "authorized_user", "client_id": "local", "client_secret": "local",
                       "refresh_token": "local"}, f)

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    def env(self, base: dict | None = None) -> dict:
        """``base`` (default os.environ) plus what sends gs:// clients here, and only here."""
        proxy = f"http://127.0.0.1:{self.gateway.port}"
        return {**(os.environ if base is None else base),
                "https_proxy": proxy, "HTTPS_PROXY": proxy, "http_proxy": proxy,
                "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost",
                "CURL_CA_BUNDLE": self.cert, "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": self.cert,
                "REQUESTS_CA_BUNDLE": self.cert,
                "GOOGLE_AUTH_TOKEN_FOR_TESTING": "local-test-token",
                "GOOGLE_APPLICATION_CREDENTIALS": self.credentials,
                "STORAGE_EMULATOR_HOST": self.emulator_url,
                "GCS_RETRY_CONFIG_MAX_RETRIES": "3",
                # google-auth must not probe the GCE metadata server (a link-local address)
                "NO_GCE_CHECK": "True", "GCE_METADATA_HOST": "127.0.0.1:9",
                "GCE_METADATA_IP": "127.0.0.1:9", "GOOGLE_CLOUD_PROJECT": "local-project"}

    def client(self):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(project="local-project", credentials=AnonymousCredentials(),
                              client_options={"api_endpoint": self.emulator_url})

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(name)

    def upload_dir(self, local_dir: str, uri: str) -> None:
        """Copies a local folder tree to gs://bucket/prefix."""
        bucket_name, _, prefix = uri[len("gs://"):].partition("/")
        bucket = self.client().bucket(bucket_name)
        for folder, _, files in os.walk(local_dir):
            for name in files:
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, local_dir)
                bucket.blob(f"{prefix.rstrip('/')}/{relative}").upload_from_filename(path)

    def read(self, uri: str) -> bytes:
        bucket_name, _, name = uri[len("gs://"):].partition("/")
        return self.client().bucket(bucket_name).blob(name).download_as_bytes()

    def download_dir(self, uri: str, local_dir: str) -> str:
        """Copies every object under a gs:// prefix into local_dir; returns local_dir."""
        bucket_name, _, prefix = uri[len("gs://"):].partition("/")
        prefix = prefix.rstrip("/") + "/"
        for blob in self.client().list_blobs(bucket_name, prefix=prefix):
            relative = blob.name[len(prefix):]
            if not relative or relative.endswith("/"):
                continue
            target = os.path.join(local_dir, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            blob.download_to_filename(target)
        return local_dir

    def list(self, uri: str) -> list[str]:
        """Object URIs under a gs:// prefix."""
        bucket_name, _, prefix = uri[len("gs://"):].partition("/")
        return [f"gs://{bucket_name}/{b.name}"
                for b in self.client().list_blobs(bucket_name, prefix=prefix)]
