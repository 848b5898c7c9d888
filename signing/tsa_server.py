"""A small RFC 3161 time-stamping authority for local runs and tests — never for production.

pyHanko's timestamp-token machinery (``DummyTimeStamper``: it builds and signs the TSTInfo
with the given certificate, RSA keys only) behind a standard-library HTTP server: a POST of
``application/timestamp-query`` gets an ``application/timestamp-reply``. It runs as its own
process, so the code that seals talks to it over HTTP exactly as it talks to a real TSA::

    python -m signing.tsa_server --cert var/pki/demo-tsa.pem --key var/pki/demo-tsa-key.pem \
        --ca var/pki/demo-ca.pem --port 8077

(``manage.py run_demo_tsa`` does the same with the demo PKI's paths.) It prints
``listening on http://host:port/`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import keys, pem, tsp, x509
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

MAX_REQUEST_BYTES = 64 * 1024


def _load_certificate(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return x509.Certificate.load(data)


def _load_key(path: Path) -> keys.PrivateKeyInfo:
    data = path.read_bytes()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return keys.PrivateKeyInfo.load(data)


def time_stamper(cert: Path, key: Path, ca: Path | None) -> DummyTimeStamper:
    embedded = SimpleCertificateStore()
    if ca is not None:
        embedded.register(_load_certificate(ca))
    return DummyTimeStamper(
        tsa_cert=_load_certificate(cert), tsa_key=_load_key(key), certs_to_embed=embedded
    )


def server_make(stamper: DummyTimeStamper, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if self.headers.get("Content-Type") != "application/timestamp-query" or not (
                0 < length <= MAX_REQUEST_BYTES
            ):
                self.send_error(400, "expected an application/timestamp-query body")
                return
            try:
                request = tsp.TimeStampReq.load(self.rfile.read(length))
                reply = stamper.request_tsa_response(request).dump()
            except Exception as exc:  # a malformed query: refused, the server stays up
                self.send_error(400, f"bad time-stamp query: {type(exc).__name__}")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def do_GET(self) -> None:
            body = b"offlabel demo time-stamping authority (RFC 3161): POST a query\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per request would drown the test and dev logs

    return ThreadingHTTPServer((host, port), Handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--ca", type=Path, default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8077)
    options = parser.parse_args(argv)
    server = server_make(
        time_stamper(options.cert, options.key, options.ca), options.host, options.port
    )
    host, port = server.server_address[:2]
    print(f"listening on http://{host!s}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
