"""The chain head may only move forward, onto an event that exists; chain checks are append-only.

The app's role keeps UPDATE on the head (``audit_record`` locks and advances it), so the
database itself refuses moving it back ("reset the chain head") or deleting it. The app's role
does not own these tables and so cannot drop or disable the triggers (see ``db_roles``).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_head_refuse_rewind() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_auditchainhead cannot be deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id <> OLD.id OR NEW.last_sequence <= OLD.last_sequence OR NOT EXISTS (
        SELECT 1 FROM audit_auditevent
        WHERE sequence = NEW.last_sequence AND event_hash = NEW.last_hash
    ) THEN
        RAISE EXCEPTION 'audit chain head may only move forward onto an existing event (#% -> #%)',
            OLD.last_sequence, NEW.last_sequence
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_head_forward_only ON audit_auditchainhead;
CREATE TRIGGER audit_head_forward_only
    BEFORE UPDATE OR DELETE ON audit_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION audit_head_refuse_rewind();
CREATE OR REPLACE FUNCTION audit_row_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_check_append_only ON audit_auditchaincheck;
CREATE TRIGGER audit_check_append_only
    BEFORE UPDATE OR DELETE ON audit_auditchaincheck
    FOR EACH ROW EXECUTE FUNCTION audit_row_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_check_append_only ON audit_auditchaincheck;
DROP TRIGGER IF EXISTS audit_head_forward_only ON audit_auditchainhead;
DROP FUNCTION IF EXISTS audit_head_refuse_rewind();
DROP FUNCTION IF EXISTS audit_row_refuse_change();
"""


def triggers_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [migrations.RunPython(triggers_create, triggers_drop)]
