"""A real S3-compatible object store for the tests: moto's server mode (``python -m
moto.server``, an HTTP server speaking the S3 protocol) as its own process on 127.0.0.1.

:func:`s3_server` (session) starts it; :func:`s3_storage` (per test) creates a bucket of its own
and switches the default file storage to django-storages' S3 backend on that bucket, the way
``OFFLABEL_STORAGE=s3`` does in production (offlabel/settings.py). Tests read the bucket back
with boto3, as any other node of the deployment would.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test.utils import override_settings

ROOT = Path(__file__).resolve().parents[2]
# moto accepts any credentials; invented ones, so nothing of a real account is ever used.
ACCESS_KEY = "offlabel-test-access-key"
SECRET_KEY = "offlabel-test-secret-key"  # moto takes any
REGION = "eu-south-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class S3Server:
    process: subprocess.Popen[bytes]
    url: str

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def s3_server_start(log: Path) -> S3Server:
    """Start moto's server on a free port and wait until it answers."""
    port = _free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = S3Server(process=process, url=f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the S3 server did not start: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the S3 server did not listen within 60 s: {log.read_text()}")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = s3_server_start(tmp_path_factory.mktemp("s3") / "moto.log")
    try:
        yield server
    finally:
        server.stop()


def s3_settings(server: S3Server, bucket: str) -> dict[str, Any]:
    """What ``OFFLABEL_STORAGE=s3`` and the AWS_* variables make of the settings."""
    return {
        "OFFLABEL_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": server.url,
        "AWS_S3_REGION_NAME": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    }


def s3_env(server: S3Server, bucket: str) -> dict[str, str]:
    """The same as environment variables, for a ``manage.py`` or worker subprocess."""
    return {name: str(value) for name, value in s3_settings(server, bucket).items()}


@dataclass
class S3Bucket:
    server: S3Server
    name: str

    def keys(self) -> list[str]:
        listing = self.server.client().list_objects_v2(Bucket=self.name)
        return sorted(entry["Key"] for entry in listing.get("Contents", []))

    def read(self, key: str) -> bytes:
        return bytes(self.server.client().get_object(Bucket=self.name, Key=key)["Body"].read())


@pytest.fixture(scope="session")
def s3_storage_setting(s3_server: S3Server) -> dict[str, Any]:
    """``STORAGES["default"]`` exactly as offlabel/settings.py makes it from the environment
    (``OFFLABEL_STORAGE=s3`` and the AWS_* variables), read from a fresh ``manage.py``."""
    from tests.helpers import run_manage

    result = run_manage(
        "shell",
        "-c",
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.STORAGES['default']))",
        env=s3_env(s3_server, "offlabel-placeholder"),
    )
    assert result.returncode == 0, result.stderr
    setting: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    assert setting["BACKEND"] == "storages.backends.s3.S3Storage", setting
    return setting


@pytest.fixture
def s3_storage(s3_server: S3Server, s3_storage_setting: dict[str, Any]) -> Iterator[S3Bucket]:
    """A fresh bucket, and the default storage switched to it for this test, configured as
    production configures it (the settings change resets Django's storage handler, so every
    FileField writes there)."""
    from django.conf import settings

    bucket = f"offlabel-test-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    default = {
        **s3_storage_setting,
        "OPTIONS": {**s3_storage_setting["OPTIONS"], "bucket_name": bucket},
    }
    override = override_settings(
        STORAGES={**settings.STORAGES, "default": default}, **s3_settings(s3_server, bucket)
    )
    override.enable()
    try:
        yield S3Bucket(server=s3_server, name=bucket)
    finally:
        override.disable()
