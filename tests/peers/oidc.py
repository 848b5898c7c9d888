"""A real OpenID Connect provider for the tests: panva's oidc-provider (tests/peers/oidc/), run
by Node as its own process on 127.0.0.1, one per pytest(-xdist) worker.

Installed with npm into var/node-oidc/ (git-ignored) from the pinned package.json and its
lockfile (``npm ci``): ``.ci/run`` runs ``python -m tests.peers.oidc`` before the tests, and
the fixture installs it itself when it is missing or at another version, as
tests/browser/axe.py does for axe-core.

Use: ``from tests.peers.oidc import oidc_provider, oidc_settings  # noqa: F401`` in a test
module; ``oidc_settings`` switches single sign-on on for one test (Django settings) and
gives the :class:`OidcProvider`, whose ``account_put`` says who may sign in there with which
claims, and whose ``sign_in`` fills its login form over HTTP (a browser test fills it itself:
fields "login" and "password", button "Sign in to the provider").
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tests" / "peers" / "oidc"
PREFIX = ROOT / "var" / "node-oidc"
PACKAGE = PREFIX / "node_modules" / "oidc-provider"
CLIENT_ID = "offlabel-tests"
PROVIDER_NAME = "Test Provider"
# Where the provider may send the browser back: the Django test client (testserver) or a live
# server on any port.
_OUR_ORIGIN = r"^http://(testserver|localhost|127\.0\.0\.1)(:[0-9]+)?"


class OidcProviderMissing(RuntimeError):
    """oidc-provider cannot be installed or started: the message says why."""


def oidc_provider_pinned_version() -> str:
    return str(json.loads((SOURCE / "package.json").read_text())["dependencies"]["oidc-provider"])


def oidc_provider_installed_version() -> str | None:
    try:
        return str(json.loads((PACKAGE / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def oidc_provider_install() -> Path:
    """The provider script, ready to run with node, installing oidc-provider first if needed.
    A file lock keeps two xdist workers from running npm in the same folder at once."""
    PREFIX.mkdir(parents=True, exist_ok=True)
    with open(PREFIX / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lockfile = SOURCE / "package-lock.json"
        installed_lock = PREFIX / "package-lock.json"
        up_to_date = (
            oidc_provider_installed_version() == oidc_provider_pinned_version()
            and installed_lock.exists()
            and installed_lock.read_bytes() == lockfile.read_bytes()
        )
        if not up_to_date:
            npm = shutil.which("npm")
            if npm is None:
                raise OidcProviderMissing(
                    "npm is not installed, so the test OpenID Connect provider cannot be "
                    "installed (apt-get install npm)"
                )
            shutil.copyfile(SOURCE / "package.json", PREFIX / "package.json")
            shutil.copyfile(lockfile, installed_lock)
            command = [npm, "ci", "--no-audit", "--no-fund", "--loglevel", "error"]
            result = subprocess.run(
                command, cwd=PREFIX, capture_output=True, text=True, timeout=300, check=False
            )
            if result.returncode != 0 or oidc_provider_installed_version() is None:
                raise OidcProviderMissing(
                    f"`{' '.join(command)}` in {PREFIX} failed (exit {result.returncode}):\n"
                    f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
                )
        # Beside its node_modules, so `import 'oidc-provider'` finds the package.
        script = PREFIX / "provider.mjs"
        source_script = SOURCE / "provider.mjs"
        if not script.exists() or script.read_bytes() != source_script.read_bytes():
            shutil.copyfile(source_script, script)
    return script


@dataclass
class OidcProvider:
    """A running provider: its issuer URL, our client's credentials, and its accounts."""

    url: str
    client_id: str
    client_secret: str
    admin_token: str
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)

    def account_put(
        self,
        login: str,
        *,
        password: str,
        hospital: str | None,
        roles: list[str] | str | None = None,
        amr: list[str] | None = None,
        acr: str = "",
        email: str = "",
        claims: dict[str, Any] | None = None,
    ) -> None:
        """Who may sign in at the provider, and the claims it says about them (replaced on
        each call: the directory changed). ``hospital=None`` leaves the claim out."""
        import requests

        account_claims: dict[str, Any] = {
            "preferred_username": login,
            "email": email or f"{login}@invented.example",
            "given_name": login.split(".")[0].title(),
            "family_name": "Invented",
        }
        if hospital is not None:
            account_claims["hospital"] = hospital
        if roles is not None:
            account_claims["roles"] = roles
        account_claims.update(claims or {})
        body: dict[str, Any] = {
            "password": password,
            "amr": amr or ["pwd"],
            "claims": account_claims,
        }
        if acr:
            body["acr"] = acr
        response = requests.put(
            f"{self.url}/test-admin/accounts/{login}",
            json=body,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=10,
        )
        response.raise_for_status()

    def sign_in(self, browser: Any, authorization_url: str, login: str, password: str) -> str:
        """Follow our redirect to the provider with a ``requests.Session`` (the browser's cookie
        jar at the provider), fill its login form, and return where the provider sends the
        browser back to us (our callback URL with code and state). If the provider signs in
        silently (its session is still open), no form is filled."""
        response = self._follow(browser, browser.get(authorization_url, allow_redirects=False))
        if response.is_redirect:
            return str(response.headers["Location"])
        action = self.login_form_action(response.text)
        posted = browser.post(
            urljoin(response.url, action),
            data={"login": login, "password": password},
            allow_redirects=False,
        )
        back = self._follow(browser, posted)
        if not back.is_redirect:
            raise AssertionError(f"the provider did not send us back: {back.text[:500]}")
        return str(back.headers["Location"])

    @staticmethod
    def login_form_action(html: str) -> str:
        match = re.search(r'<form method="post" action="(/interaction/[^"]+/login)"', html)
        if match is None:
            raise AssertionError(f"no login form at the provider: {html[:500]}")
        return match.group(1)

    def _follow(self, browser: Any, response: Any) -> Any:
        """Follow redirects while they stay at the provider, and submit the forms its pages
        submit themselves with a script (as when another person signs in over an open
        session: the provider first ends the old one)."""
        for _ in range(10):
            location = response.headers.get("Location", "")
            if not response.is_redirect:
                autosubmit = "document.forms[0].submit()" in response.text
                action = re.search(r'<form method="post" action="([^"]+)"', response.text)
                if not (autosubmit and action and action.group(1).startswith(self.url)):
                    return response
                fields = dict(
                    re.findall(
                        r'<input type="hidden" name="([^"]+)" value="([^"]*)"', response.text
                    )
                )
                response = browser.post(action.group(1), data=fields, allow_redirects=False)
                continue
            target = urljoin(response.url, location)
            if not target.startswith(self.url):
                return response
            response = browser.get(target, allow_redirects=False)
        raise AssertionError("too many redirects at the provider")

    def logout_confirm(self, browser: Any, end_session_url: str) -> Any:
        """Open the provider's end-session page and confirm its form ("Yes, sign me out")."""
        page = browser.get(end_session_url, allow_redirects=False)
        page.raise_for_status()
        action = re.search(r'<form[^>]*id="op.logoutForm"[^>]*action="([^"]+)"', page.text)
        if action is None:
            action = re.search(r'<form[^>]*action="([^"]+)"[^>]*id="op.logoutForm"', page.text)
        assert action is not None, page.text[:800]
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        fields["logout"] = "yes"
        return browser.post(urljoin(page.url, action.group(1)), data=fields, allow_redirects=False)

    def django_settings(self, settings: Any) -> None:
        """Single sign-on on, with this provider, through pytest-django's ``settings``."""
        settings.OFFLABEL_OIDC_ENABLED = True
        settings.OFFLABEL_OIDC_PROVIDER_NAME = PROVIDER_NAME
        settings.OIDC_RP_CLIENT_ID = self.client_id
        settings.OIDC_RP_CLIENT_SECRET = self.client_secret
        settings.OIDC_OP_DISCOVERY = self.url
        for name in (
            "OIDC_OP_ISSUER",
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
            "OIDC_OP_JWKS_ENDPOINT",
            "OIDC_OP_LOGOUT_ENDPOINT",
        ):
            setattr(settings, name, "")
        settings.OIDC_RP_SCOPES = "openid email profile offlabel"
        backend = "accounts.oidc.OfflabelOIDCBackend"
        if backend not in settings.AUTHENTICATION_BACKENDS:
            settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, backend]
        policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
        policy["DIRECTIVES"]["form-action"].append(self.url)
        settings.CONTENT_SECURITY_POLICY = policy

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def oidc_provider_start(config_dir: Path) -> OidcProvider:
    """Start the provider on a free port and wait until its discovery document answers."""
    import requests

    script = oidc_provider_install()
    node = shutil.which("node")
    if node is None:
        raise OidcProviderMissing("node is not installed (apt-get install nodejs)")
    client_secret = secrets.token_urlsafe(32)
    admin_token = secrets.token_urlsafe(24)
    config = {
        "port": 0,
        "admin_token": admin_token,
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": client_secret,
                "redirect_uri_pattern": _OUR_ORIGIN + r"/oidc/callback/$",
                "post_logout_redirect_uri_pattern": _OUR_ORIGIN + r"/accounts/login/$",
            }
        ],
        "accounts": {},
    }
    config_path = config_dir / "oidc-provider.json"
    config_path.write_text(json.dumps(config))
    process = subprocess.Popen(
        [node, str(script), str(config_path)],
        cwd=PREFIX,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    log: list[str] = []
    url = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()  # its warnings, then "listening <issuer>"
        if not line:
            break
        log.append(line)
        if line.startswith("listening "):
            url = line.split()[-1]
            break
    if not url:
        process.kill()
        raise OidcProviderMissing(f"the OpenID Connect provider did not start:\n{''.join(log)}")
    provider = OidcProvider(url, CLIENT_ID, client_secret, admin_token, process, log)
    # Keep reading what it prints (errors included), so a full pipe never stalls it.
    threading.Thread(target=lambda: log.extend(process.stdout or []), daemon=True).start()
    discovery = requests.get(f"{url}/.well-known/openid-configuration", timeout=10)
    discovery.raise_for_status()
    return provider


try:
    import pytest
except ImportError:  # `python -m tests.peers.oidc` needs only the installer
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
        """One provider process per test process (so per xdist worker), stopped at the end."""
        provider = oidc_provider_start(tmp_path_factory.mktemp("oidc"))
        try:
            yield provider
        finally:
            provider.stop()

    @pytest.fixture
    def oidc_settings(settings: Any, oidc_provider: OidcProvider) -> OidcProvider:
        """Single sign-on switched on for this test, with the provider."""
        oidc_provider.django_settings(settings)
        return oidc_provider


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        try:
            path = oidc_provider_install()
        except OidcProviderMissing as exc:
            sys.exit(f"oidc-provider: {exc}")
        print(f"oidc-provider {oidc_provider_installed_version()}: {path.relative_to(ROOT)}")
