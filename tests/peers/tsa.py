"""A real time-stamping authority for the tests: ``signing.tsa_server`` (pyHanko's
timestamp-token machinery behind an HTTP server) as its own process on 127.0.0.1, with the
demo PKI made in a temporary directory.

The session fixture :func:`seal_pki_and_tsa` is autouse (tests/conftest.py): every PDF the
suite renders is sealed against it. It sets the settings of this process and the environment
variables, so a Celery worker or ``manage.py`` subprocess started by a test seals the same way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.test.utils import override_settings

from signing.demo_pki import DEMO_PASSWORD, DemoPkiPaths, demo_pki_create
from signing.tsa_process import Tsa, tsa_process_start


@contextmanager
def tsa_running(paths: DemoPkiPaths, port: int = 0) -> Iterator[Tsa]:
    tsa = tsa_process_start(paths, port)
    try:
        yield tsa
    finally:
        tsa.stop()


def seal_env(paths: DemoPkiPaths, tsa_url: str) -> dict[str, str]:
    return {
        "OFFLABEL_SEAL_PKCS12": str(paths.seal_pkcs12),
        "OFFLABEL_SEAL_PKCS12_PASSWORD": DEMO_PASSWORD,
        "OFFLABEL_SEAL_TRUST_ROOTS": str(paths.ca_certificate),
        "OFFLABEL_TSA_URL": tsa_url,
    }


def seal_settings(paths: DemoPkiPaths, tsa_url: str) -> dict[str, str]:
    return {
        "SEAL_PKCS12": str(paths.seal_pkcs12),
        "SEAL_PKCS12_PASSWORD": DEMO_PASSWORD,
        "SEAL_TRUST_ROOTS": str(paths.ca_certificate),
        "SEAL_TSA_URL": tsa_url,
    }


@dataclass
class SealPeer:
    paths: DemoPkiPaths
    tsa: Tsa


@pytest.fixture(scope="session", autouse=True)
def seal_pki_and_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SealPeer]:
    paths, _ = demo_pki_create(tmp_path_factory.mktemp("pki"))
    with tsa_running(paths) as tsa:
        saved = {k: os.environ.get(k) for k in seal_env(paths, tsa.url)}
        os.environ.update(seal_env(paths, tsa.url))
        override = override_settings(**seal_settings(paths, tsa.url))
        override.enable()
        try:
            yield SealPeer(paths=paths, tsa=tsa)
        finally:
            override.disable()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def wait_until(condition: object, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.2)
    return False
