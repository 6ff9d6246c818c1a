"""Git hosts over https on loopback, for tests that need a real TLS git server.

A self-signed certificate for 127.0.0.1 is made with the openssl command (the site is pointed at
it with GIT_SSL_CA_BUNDLE); `serve_tls` runs a request handler behind it. `git_host_handler`
serves repositories with git's own `git http-backend` (the smart HTTP protocol, v2 included) and
asks for Basic authentication, as a private repository on a forge does.
"""

import base64
import os
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

needs_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="needs the openssl command"
)


@dataclass(frozen=True)
class Certificate:
    key: Path
    cert: Path


def make_certificate(directory: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    made = Certificate(directory / "key.pem", directory / "cert.pem")
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    command += ["-keyout", str(made.key), "-out", str(made.cert), "-subj", "/CN=127.0.0.1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return made


@contextmanager
def serve_tls(
    handler: type[BaseHTTPRequestHandler], certificate: Certificate
) -> Iterator[ThreadingHTTPServer]:
    """Serve `handler` over https on a free loopback port until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert, certificate.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@dataclass
class Seen:
    """What a host was asked: each request's path and the Authorization it carried."""

    paths: list[str] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)


def git_host_handler(
    root: Path, *, username: str, password: str, seen: Seen
) -> type[BaseHTTPRequestHandler]:
    """Repositories under `root`, served by `git http-backend` to one Basic login only."""
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    class GitHost(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            authorization = self.headers.get("Authorization", "")
            seen.paths.append(self.path)
            seen.authorizations.append(authorization)
            if authorization != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="private"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._backend()

        do_POST = do_GET

        def _backend(self) -> None:
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            environment = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(length),
                "REMOTE_USER": username,
                "REMOTE_ADDR": "127.0.0.1",
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            }
            done = subprocess.run(
                ["git", "http-backend"],
                input=self.rfile.read(length),
                env=environment,
                capture_output=True,
                timeout=60,
                check=False,
            )
            head, _, body = done.stdout.partition(b"\r\n\r\n")
            headers = [line.split(": ", 1) for line in head.decode().split("\r\n") if line]
            status = next((int(v.split()[0]) for k, v in headers if k.lower() == "status"), 200)
            self.send_response(status)
            for name, value in headers:
                if name.lower() != "status":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return GitHost
