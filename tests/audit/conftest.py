from pathlib import Path

import pytest

from audit.checkpoints import public_key_path_for, signing_key_generate


@pytest.fixture(autouse=True)
def audit_keys_and_anchors(settings, tmp_path: Path) -> Path:
    """Each test signs with its own key into its own anchor store (never var/)."""
    private_key = tmp_path / "keys" / "audit-signing-key.pem"
    signing_key_generate(private_path=private_key, public_path=public_key_path_for(private_key))
    settings.AUDIT_SIGNING_KEY = str(private_key)
    settings.AUDIT_VERIFY_KEY = str(public_key_path_for(private_key))
    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    settings.AUDIT_CHECKPOINT_MINUTES = 60
    return tmp_path
