"""The app's database role cannot change history: each tamper of the issue, tried as that role
on PostgreSQL, is refused, while the app's ordinary writes still work.

The grants are applied by ``manage.py db_roles``, the command production runs after migrate.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from audit.actions import AuditAction
from audit.models import AuditChainCheck, AuditEvent
from audit.services import audit_chain_check_record, audit_chain_verify, audit_record

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(
        "connection.vendor != 'postgresql'", reason="database roles are a PostgreSQL feature"
    ),
    pytest.mark.django_db(transaction=True),  # the app's role connects separately
]


@pytest.fixture
def app_role() -> tuple[str, str]:
    """A LOGIN role with no attribute, granted by db_roles as in production."""
    name = f"{connection.settings_dict['NAME']}_app"[:63]
    password = secrets.token_urlsafe(18)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        if not cursor.fetchone()[0] and not os.environ.get("OFFLABEL_REQUIRE_DB"):
            pytest.skip("the test database user cannot create roles")
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
        verb = "ALTER" if cursor.fetchone() else "CREATE"
        cursor.execute(f'{verb} ROLE "{name}" LOGIN NOSUPERUSER PASSWORD %s', [password])
    call_command("db_roles", "--database", "default", "--app-role", name)
    return name, password


def _connect(role: tuple[str, str]) -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=int(db["PORT"] or 5432),
        dbname=db["NAME"],
        user=role[0],
        password=role[1],
        autocommit=True,
    )


def _refused(app: psycopg.Connection, sql: str, why: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
        app.execute(sql)
    assert why in str(refused.value), str(refused.value)


def test_the_app_role_cannot_change_delete_or_truncate_the_audit_trail(physician, app_role):
    for i in range(3):
        audit_record(
            actor=physician,
            action=AuditAction.HOSPITAL_CREATED,
            object_type="t",
            object_id=i,
            summary="s",
        )
    audit_chain_check_record()
    with _connect(app_role) as app:
        _refused(app, "UPDATE audit_auditevent SET summary = 'x' WHERE sequence = 2", "permission")
        _refused(app, "DELETE FROM audit_auditevent WHERE sequence = 3", "permission")
        _refused(app, "TRUNCATE audit_auditevent", "permission")
        _refused(app, "TRUNCATE audit_auditevent, audit_auditchainhead", "permission")
        _refused(app, "SET session_replication_role = replica", "permission")
        _refused(
            app,
            "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only",
            "must be owner",
        )
        _refused(app, "DROP TRIGGER audit_event_append_only ON audit_auditevent", "must be owner")
        _refused(app, "DROP TABLE audit_auditevent", "must be owner")
        _refused(
            app,
            "CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger AS "
            "$$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql",
            "permission",
        )
        # The chain head: never back ("reset"), never deleted or truncated.
        _refused(
            app,
            "UPDATE audit_auditchainhead SET last_sequence = 0, last_hash = repeat('0', 64)",
            "only move forward",
        )
        _refused(app, "DELETE FROM audit_auditchainhead", "permission")
        _refused(app, "TRUNCATE audit_auditchainhead", "permission")
        # The stored chain checks are append-only too.
        _refused(app, "UPDATE audit_auditchaincheck SET ok = true", "permission")
        _refused(app, "DELETE FROM audit_auditchaincheck", "permission")
        owned = app.execute(
            "SELECT count(*) FROM pg_tables WHERE tableowner = current_user"
        ).fetchone()
        assert owned == (0,)
    assert AuditEvent.objects.count() == 3 and AuditChainCheck.objects.count() == 1
    assert audit_chain_verify().ok


def test_the_app_role_still_writes_audit_events_and_ordinary_records(hospital, app_role):
    audit_record(actor=None, action=AuditAction.HOSPITAL_CREATED, object_type="t", summary="before")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{app_role[0]}:{app_role[1]}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    env.pop("DATABASE_OWNER_URL", None)
    script = (
        "from accounts.models import Hospital\n"
        "from audit.actions import AuditAction\n"
        "from audit.services import audit_chain_verify, audit_record\n"
        f"hospital = Hospital.objects.get(pk={hospital.pk})\n"
        "hospital.city = 'Altrove'\n"
        "hospital.save(update_fields=['city'])\n"
        "for n in range(2):\n"
        "    audit_record(actor=None, action=AuditAction.USER_CREATED, target=hospital,"
        " summary='as app')\n"
        "print('chain ok' if audit_chain_verify().ok else 'chain BROKEN')\n"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "chain ok" in result.stdout
    hospital.refresh_from_db()
    assert hospital.city == "Altrove"
    assert list(AuditEvent.objects.order_by("sequence").values_list("action", flat=True)) == [
        AuditAction.HOSPITAL_CREATED,
        AuditAction.USER_CREATED,
        AuditAction.USER_CREATED,
    ]


def test_db_roles_refuses_to_grant_the_owner_itself():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
    with pytest.raises(CommandError, match="the app would own the audit tables"):
        call_command("db_roles", "--database", "default", "--app-role", owner)
