"""Two PostgreSQL roles: the owner (runs migrations, owns every table) and the app's role.

The app's role may read and write ordinary tables, but on the audit tables it may only SELECT
and INSERT (and advance the chain head, which a trigger allows only forward). It owns nothing,
so it cannot TRUNCATE, ALTER, disable or drop the append-only triggers, and as it is not a
superuser it cannot set ``session_replication_role`` to skip them. Whoever runs this is the
owner: ``manage.py db_roles`` after every ``migrate``, so tables added since are granted too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.backends.base.base import BaseDatabaseWrapper

from audit.models import AuditChainCheck, AuditChainHead, AuditEvent

# Append-only: rows are added, never changed (the triggers refuse UPDATE and DELETE as well).
APPEND_ONLY_TABLES = frozenset({AuditEvent._meta.db_table, AuditChainCheck._meta.db_table})
# UPDATE only to move the head forward onto an existing event (trigger audit_head_forward_only).
HEAD_TABLE = AuditChainHead._meta.db_table
# The app reads which migrations ran; only the owner records one.
READ_ONLY_TABLES = frozenset({"django_migrations"})


class DbRolesError(Exception):
    pass


@dataclass
class DbRolesReport:
    app_role: str
    owner_role: str
    statements: list[str] = field(default_factory=list)


def _table_privileges(table: str) -> str:
    if table in APPEND_ONLY_TABLES:
        return "SELECT, INSERT"
    if table == HEAD_TABLE:
        return "SELECT, INSERT, UPDATE"
    if table in READ_ONLY_TABLES:
        return "SELECT"
    return "SELECT, INSERT, UPDATE, DELETE"


def db_roles_apply(
    *, connection: BaseDatabaseWrapper, app_role: str, app_password: str | None = None
) -> DbRolesReport:
    """Grant ``app_role`` what the app needs and nothing more; idempotent.

    The role is created (LOGIN, no other attribute) when it is missing and the owner may
    create roles, with ``app_password``; otherwise it must exist already (deploy/postgres-init).
    Refuses when the app's role is the owner, a superuser, a member of the owner's role, or
    owns a table: each would let it change history.
    """
    if connection.vendor != "postgresql":
        raise DbRolesError("Database roles are a PostgreSQL feature; nothing to do here.")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database(), current_schema()")
        owner, database, schema = cursor.fetchone()
        report = DbRolesReport(app_role=app_role, owner_role=owner)
        if app_role == owner:
            raise DbRolesError(
                f"The app's role and the owner are both {owner!r}: the app would own the audit "
                "tables. Give DATABASE_URL its own role (DATABASE_OWNER_URL is the owner)."
            )

        def run(sql: str) -> None:
            cursor.execute(sql)
            report.statements.append(sql)

        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [app_role])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(
                "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = %s", [owner]
            )
            if not app_password or not cursor.fetchone()[0]:
                raise DbRolesError(
                    f"The role {app_role!r} does not exist: create it as a LOGIN role with no "
                    "other attribute (deploy/postgres-init/10-app-role.sh does)."
                )
            cursor.execute(f"CREATE ROLE {quote(app_role)} LOGIN PASSWORD %s", [app_password])
            report.statements.append(f"CREATE ROLE {quote(app_role)} LOGIN PASSWORD '…'")
        elif row[0]:
            raise DbRolesError(
                f"The app's role {app_role!r} is a superuser: it bypasses every grant."
            )
        cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [app_role, owner])
        if cursor.fetchone()[0]:
            raise DbRolesError(
                f"The app's role {app_role!r} is a member of the owner {owner!r}: it would own "
                "the audit tables."
            )
        cursor.execute(
            "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'S', 'v', 'm') ORDER BY c.relname",
            [schema],
        )
        objects = cursor.fetchall()
        owned_by_app = [name for name, object_owner in objects if object_owner == app_role]
        if owned_by_app:
            raise DbRolesError(
                f"The app's role {app_role!r} owns {', '.join(owned_by_app)}: run migrations as "
                f"the owner and ALTER ... OWNER TO {owner}."
            )
        role = quote(app_role)
        run(f"GRANT CONNECT ON DATABASE {quote(database)} TO {role}")
        run(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {role}")
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tableowner = %s "
            "ORDER BY tablename",
            [schema, owner],
        )
        for (table,) in cursor.fetchall():
            name = f"{quote(schema)}.{quote(table)}"
            run(f"REVOKE ALL ON {name} FROM {role}")
            run(f"GRANT {_table_privileges(table)} ON {name} TO {role}")
        run(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {role}")
        cursor.execute("SELECT has_schema_privilege(%s, %s, 'CREATE')", [app_role, schema])
        if cursor.fetchone()[0]:
            raise DbRolesError(
                f"The app's role {app_role!r} may create objects in schema {schema!r}: "
                f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC (PostgreSQL 15 does by default)."
            )
    return report
