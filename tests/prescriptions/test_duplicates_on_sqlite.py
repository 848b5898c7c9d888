"""The duplicate-patient check on SQLite, the embedded default of ``dev.py run``: SQLite has no
regexp_replace, and the first version of the check used it (found by a mutation run on SQLite,
after CI on PostgreSQL had passed). A fresh SQLite database, migrated, in its own process."""

from tests.helpers import run_manage

SCRIPT = """
from datetime import date
from django.contrib.auth.models import Group
from accounts.models import Hospital, User
from accounts.roles import Role
from prescriptions.selectors import patient_matches
from prescriptions.services import patient_create
from tests.prescriptions.conftest import COMPLETE_PROFILE

hospital = Hospital.objects.create(name="Invented SQLite Hospital", code="inv-sqlite")
doctor = User.objects.create(username="dr.sqlite", hospital=hospital)
doctor.groups.add(Group.objects.get(name=Role.PHYSICIAN))
identity = {"given_name": "Ada", "family_name": "Inventata", "date_of_birth": date(1950, 1, 2),
            "national_id": "NVNDAA50A42H501X"}
patient_create(actor=doctor, profile=COMPLETE_PROFILE, identity=identity, check_duplicates=True)
typed = {**identity, "given_name": "Other", "national_id": "nvn daa-50a42.h501/x"}
print("MATCHES", [m.matched_on for m in patient_matches(user=doctor, identity=typed)])
"""


def test_the_same_number_typed_with_separators_is_found_on_sqlite(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'offlabel.sqlite3'}",
        "OFFLABEL_VAR_DIR": str(tmp_path),
    }
    migrated = run_manage("migrate", "--noinput", "-v", "0", env=env, timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    result = run_manage("shell", "-c", SCRIPT, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MATCHES ['national_id']" in result.stdout
