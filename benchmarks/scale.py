"""The data of ``make bench BENCH_ARGS=--scale``: a region of invented hospitals with their own
staff, a million requests and ten million audit events, bulk-loaded with PostgreSQL ``COPY``.

The rows are those of ``benchmarks.dataset`` in the same proportions (the same states and
paths, a patient and a treating physician each, the transitions of the path, a pathway choice,
1–3 studies, outside applications and dispensations), written with ``COPY … FROM STDIN`` into
the real tables with every index and constraint in place: the point of the run is to measure
with production's indexes, so nothing is dropped and rebuilt. Patients and requests take their
ids from their tables' own sequences (``nextval`` over ``generate_series``: correct beside any
other writer); the rows that nothing references get theirs from the identity default.

A column the loader does not name is written at its model default, as the ORM would write it
(``CopyTable``): a field added later with a default needs nothing here, and one without a
default stops the load with its name instead of writing something the model would refuse.

The audit events continue the chain from its head exactly as ``dataset.audit_fill_to`` does:
each event is hashed with the audit service's own ``audit_values_hash`` over the same fields,
chained on the previous hash, and the head is moved onto the last one, so ``audit_chain_verify``
accepts the whole chain. Everything is invented.

Foreign keys are checked once, set-wise, after the load (``foreign_keys_verify``: one
anti-join per table), not row by row: the copies run with ``session_replication_role =
replica`` when the database user may set it (a superuser, as for ``pg_restore
--disable-triggers``), which skips the per-row foreign-key triggers and nothing else (unique
indexes and CHECK constraints are not triggers; the chain head is moved with its trigger on).
Row by row, PostgreSQL's foreign-key checks cost as much as the fourteen indexes of the audit
table together (about 45 µs an event here). The copies also compress the WAL's full-page images
(``wal_compression``, for their own transactions; see ``bulk_settings``).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from queue import Queue
from typing import Any

from django.db import connection, models, transaction
from django.db.models.fields import NOT_PROVIDED
from django.utils import timezone

from audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from audit.services import AUDIT_HASHED_FIELDS, audit_values_hash
from benchmarks.dataset import (
    AUDIT_ACTIONS,
    AUTHORISED,
    BY_PHYSICIAN,
    PATHS,
    STATE_WEIGHTS,
    TREATED,
    Cast,
    cast_create,
    pseudonyms_unique,
)
from evidence.models import Study
from pharmacy.models import Dispensation, Payer
from prescriptions.models import (
    EvidenceAttachment,
    OffLabelRequest,
    Patient,
    RequestTransition,
    request_reference,
)
from prescriptions.services import drug_default
from regulatory.models import Application, PathwayChoice, PathwayVersion

S = OffLabelRequest.Status
# Read once: a TextChoices' ``values`` is rebuilt at each access.
SEXES = (Patient.Sex.FEMALE.value, Patient.Sex.MALE.value)
AML_TYPES = tuple(Patient.AmlType.values)
DISEASE_STATUSES = tuple(Patient.DiseaseStatus.values)
ELN_RISKS = tuple(Patient.Eln.values)
REQUEST_BATCH = 5_000  # requests generated, then copied table by table in one transaction
EVENT_BATCH = 25_000  # audit events per COPY (and transaction)
WRITERS = 2  # threads copying batches, each with its own connection (a server process each)
OBJECT_TYPE = OffLabelRequest._meta.label_lower
NULL = "\\N"  # COPY text format
# The columns of an audit event's COPY line, in order: its hashed fields, then its hash.
EVENT_LINE_FIELDS = AUDIT_HASHED_FIELDS  # the same fields, in the same order, as the writer hashes


@dataclass(frozen=True)
class ScaleSizes:
    hospitals: int  # the bench hospital and the others of the region
    requests_per_hospital: int
    events: int  # the whole chain


@dataclass
class LoadReport:
    """What the load wrote, per table, and how long it took."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, table: str, n: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + n

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total / self.seconds if self.seconds else 0.0


def _json(value: Any) -> str:
    """A JSON column's value as COPY's text format takes it."""
    return json.dumps(value, separators=(",", ":"))


class CopyTable:
    """``COPY`` into one model's table: each row gives ``columns``; every other column is
    written at its model default (what the ORM writes for a field it is not given), except the
    identity primary key and columns with a database default, which the database fills."""

    def __init__(self, model: type[models.Model], columns: Sequence[str], *, now: datetime):
        fields = {f.column: f for f in model._meta.concrete_fields if f.column is not None}
        unknown = set(columns) - set(fields)
        if unknown:
            raise ValueError(f"{model.__name__} has no column {', '.join(sorted(unknown))}")
        names = list(columns)
        defaults: list[Any] = []
        for column, model_field in fields.items():
            if column in columns or model_field.primary_key:
                continue
            if model_field.db_default is not NOT_PROVIDED:
                continue
            names.append(column)
            defaults.append(self._default(model, model_field, now))
        self.model = model
        self.table = model._meta.db_table
        self.defaults = tuple(defaults)
        quote = connection.ops.quote_name
        self.sql = f"COPY {quote(self.table)} ({', '.join(map(quote, names))}) FROM STDIN"

    @staticmethod
    def _default(model: type[models.Model], model_field: Any, now: datetime) -> Any:
        if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            return now.date() if type(model_field) is models.DateField else now
        value = model_field.get_default()
        if value is None and not model_field.null:
            raise ValueError(
                f"{model.__name__}.{model_field.name} has no default: the loader must give it"
            )
        if isinstance(model_field, models.JSONField) and value is not None:
            return _json(value)
        return value

    @contextmanager
    def copy(self) -> Iterator[Any]:
        """A ``psycopg.Copy`` whose rows are sent by a thread of their own
        (``QueuedLibpqWriter``): Python formats the next rows while the server takes the last."""
        from psycopg.copy import QueuedLibpqWriter

        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor under Django's wrapper
            with raw.copy(self.sql, writer=QueuedLibpqWriter(raw)) as copy:
                yield copy

    def write(self, rows: Iterable[tuple[Any, ...]] | str) -> None:
        """Copy the rows: tuples of the columns given, or the text of whole lines in COPY's
        text format (every column, in order) made by the caller."""
        with self.copy() as copy:
            if isinstance(rows, str):
                copy.write(rows)
                return
            defaults = self.defaults
            for row in rows:
                copy.write_row(row + defaults)


def copy_text(value: str) -> str:
    """A string as a column of COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def ids_reserve(model: type[models.Model], n: int) -> list[int]:
    """``n`` primary keys taken from the table's own sequence, as inserts would take them."""
    if n <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, %s)", [model._meta.db_table, model._meta.pk.column]
        )
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, n])
        return [row[0] for row in cursor.fetchall()]


def casts_create(count: int) -> list[Cast]:
    """The region's other hospitals, invented, each with its own department and staff."""
    return [
        cast_create(name=f"Invented Regional Hospital {i:02d}", code=f"region-{i:02d}")
        for i in range(1, count + 1)
    ]


class _Tables:
    """The COPY statement of each table the load writes, and what the rows share."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.patients = CopyTable(
            Patient,
            [
                "id",
                "hospital_id",
                "pseudonym",
                "created_by_id",
                "created_at",
                "updated_at",
                "age_years",
                "sex",
                "weight_kg",
                "height_cm",
                "aml_type",
                "disease_status",
                "prior_lines",
                "eln_risk",
                "ecog",
                "hepatic_function",
            ],
            now=now,
        )
        self.treating = CopyTable(
            Patient.treating_physicians.through, ["patient_id", "user_id"], now=now
        )
        self.requests = CopyTable(
            OffLabelRequest,
            [
                "id",
                "hospital_id",
                "patient_id",
                "prescriber_id",
                "drug_id",
                "regimen",
                "ven_target_dose_mg",
                "ramp_up",
                "cycles_planned",
                "clinical_rationale",
                "jurisdiction",
                "needs_outside_authorisation",
                "status",
                "status_changed_at",
                "submitted_at",
                "created_at",
                "updated_at",
            ],
            now=now,
        )
        self.transitions = CopyTable(
            RequestTransition,
            ["request_id", "from_status", "to_status", "actor_id", "occurred_at"],
            now=now,
        )
        self.choices = CopyTable(
            PathwayChoice,
            ["request_id", "pathway_version_id", "recommended_code", "chosen_by_id", "chosen_at"],
            now=now,
        )
        self.attachments = CopyTable(
            EvidenceAttachment,
            ["request_id", "study_id", "snapshot", "attached_by_id", "attached_at"],
            now=now,
        )
        self.applications = CopyTable(
            Application,
            [
                "request_id",
                "hospital_id",
                "body",
                "prepared_at",
                "submitted_at",
                "status",
                "decided_at",
                "created_by_id",
            ],
            now=now,
        )
        self.dispensations = CopyTable(
            Dispensation,
            [
                "request_id",
                "cycle",
                "payer",
                "total_mg",
                "cost",
                "currency",
                "dispensed_by_id",
                "dispensed_at",
            ],
            now=now,
        )
        self.versions = list(
            PathwayVersion.objects.filter(is_current=True, pathway__jurisdiction__code="IT")
            .select_related("pathway")
            .order_by("pathway__order")
        )
        self.studies = [
            (study.pk, _json({"reference": study.reference}))
            for study in Study.objects.order_by("pk")
        ]
        if not self.versions or not self.studies:
            raise RuntimeError("load the pathway rules and the studies first")
        self.drug_id = drug_default().pk


def _requests_batch(
    cast: Cast, size: int, rng: random.Random, pseudonyms: Any, tables: _Tables
) -> Job:
    """Generate ``size`` requests of the hospital with their rows, table by table."""
    hospital_id, pharmacist_id = cast.hospital.pk, cast.pharmacist.pk
    now, states, weights = tables.now, list(STATE_WEIGHTS), list(STATE_WEIGHTS.values())
    patient_ids = ids_reserve(Patient, size)
    request_ids = ids_reserve(OffLabelRequest, size)
    patients, treating, requests = [], [], []
    transitions, choices, attachments, applications, dispensations = [], [], [], [], []
    for patient_id, request_id in zip(patient_ids, request_ids, strict=True):
        prescriber_id = rng.choice(cast.physicians).pk
        state = rng.choices(states, weights)[0]
        created = now - timedelta(days=rng.uniform(2, 365))
        times = [created]
        for _ in PATHS[state][1:]:
            times.append(times[-1] + timedelta(hours=rng.uniform(1, 72)))
        times = [min(t, now) for t in times]
        version: PathwayVersion = rng.choice(tables.versions)
        patients.append(
            (
                patient_id,
                hospital_id,
                next(pseudonyms),
                prescriber_id,
                created,
                created,
                rng.randint(19, 89),
                rng.choice(SEXES),
                Decimal(rng.randint(450, 1100)) / 10,
                Decimal(rng.randint(1500, 1950)) / 10,
                rng.choice(AML_TYPES),
                rng.choice(DISEASE_STATUSES),
                rng.randint(1, 4),
                rng.choice(ELN_RISKS),
                rng.randint(0, 3),
                Patient.Hepatic.NORMAL,
            )
        )
        treating.append((patient_id, prescriber_id))
        requests.append(
            (
                request_id,
                hospital_id,
                patient_id,
                prescriber_id,
                tables.drug_id,
                OffLabelRequest.Regimen.AZACITIDINE,
                Decimal(400),
                OffLabelRequest.RampUp.HMA_3_DAY,
                rng.randint(2, 6),
                "Invented benchmark request; no real patient.",
                OffLabelRequest.Jurisdiction.IT,
                version.needs_outside_authorisation,
                state,
                times[-1],
                times[1] if len(times) > 1 else None,
                times[0],
                times[-1],
            )
        )
        path = PATHS[state]
        for i in range(1, len(path)):
            actor_id = prescriber_id if path[i] in BY_PHYSICIAN else pharmacist_id
            transitions.append((request_id, path[i - 1], path[i], actor_id, times[i]))
        if state == S.DRAFT:
            continue
        choices.append((request_id, version.pk, version.pathway.code, prescriber_id, times[1]))
        for study_id, snapshot in rng.sample(tables.studies, rng.randint(1, 3)):
            attachments.append((request_id, study_id, snapshot, prescriber_id, times[1]))
        if version.needs_outside_authorisation and state in {S.AWAITING_AUTHORISATION, *AUTHORISED}:
            granted = state != S.AWAITING_AUTHORISATION
            applications.append(
                (
                    request_id,
                    hospital_id,
                    version.authorising_body,
                    times[1].date(),
                    times[1].date(),
                    Application.Status.GRANTED if granted else Application.Status.SUBMITTED,
                    times[-1].date() if granted else None,
                    pharmacist_id,
                )
            )
        if state in TREATED:
            for cycle in range(1, rng.randint(1, 3) + 1):
                dispensations.append(
                    (
                        request_id,
                        cycle,
                        Payer.NATIONAL_SERVICE,
                        Decimal(11200),
                        Decimal("5843.20"),
                        "EUR",
                        pharmacist_id,
                        times[-1],
                    )
                )
    return [
        ("patients", tables.patients, patients),
        ("treating physicians", tables.treating, treating),
        ("requests", tables.requests, requests),
        ("transitions", tables.transitions, transitions),
        ("pathway choices", tables.choices, choices),
        ("evidence attachments", tables.attachments, attachments),
        ("applications", tables.applications, applications),
        ("dispensations", tables.dispensations, dispensations),
    ]


# One batch: (label, table, rows as tuples or as COPY text).
Job = list[tuple[str, CopyTable, list[tuple[Any, ...]] | str]]


def bulk_settings() -> dict[str, str]:
    """Settings of the copying transactions, when the database user may set them (a
    superuser): ``session_replication_role = replica`` skips the per-row foreign-key triggers
    (``foreign_keys_verify`` checks the keys after the load); ``wal_compression`` compresses the
    full-page images written to the WAL after each checkpoint, which are most of the WAL when
    random keys (event hashes, object ids) land on index pages all over a large table. Both
    last for the copying transaction only."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('is_superuser') = 'on', enumvals FROM pg_settings "
            "WHERE name = 'wal_compression'"
        )
        row = cursor.fetchone()
    if row is None or not row[0]:
        return {}
    settings = {"session_replication_role": "replica"}
    compressions = [value for value in ("lz4", "pglz") if value in (row[1] or [])]
    if compressions:
        settings["wal_compression"] = compressions[0]
    return settings


def _job_write(job: Job, *, settings: dict[str, str]) -> None:
    """One batch in one transaction, tables in order (a request after its patient), with the
    ``bulk_settings`` for that transaction only."""
    with transaction.atomic(), connection.cursor() as cursor:
        before = {}
        for name, value in settings.items():
            cursor.execute("SELECT current_setting(%s)", [name])
            before[name] = cursor.fetchone()[0]
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        for _, table, rows in job:
            table.write(rows)
        for name, value in before.items():  # in a test's transaction they would outlive it
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


class CopyQueue:
    """Writes batches, each in its own transaction. With ``threads``, that many threads (each
    with its own database connection, so a server process of its own) copy the batches while
    the caller generates the next ones: the server inserts and indexes while Python makes and
    hashes rows, instead of each waiting for the other. Batches are independent of each other
    (a batch holds its patients with their requests; foreign keys are verified after the load),
    so their order does not matter. With ``threads=0`` (the tests: their rows must stay in the
    test's transaction) each batch is written when it is put."""

    def __init__(self, *, threads: int) -> None:
        self.error: BaseException | None = None
        self.settings = bulk_settings()
        self.skip_row_triggers = "session_replication_role" in self.settings
        self.queue: Queue[Job | None] = Queue(maxsize=2 * max(threads, 1))
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        try:
            while (job := self.queue.get()) is not None:
                if self.error is None:  # after an error, only drain: put() must not block
                    try:
                        _job_write(job, settings=self.settings)
                    except BaseException as exc:
                        self.error = exc
        finally:
            connection.close()  # this thread's own connection

    def put(self, job: Job) -> None:
        if self.error is not None:
            raise self.error
        if self.threads:
            self.queue.put(job)
        else:
            _job_write(job, settings=self.settings)

    def close(self) -> None:
        """Wait until every batch is written; raise what went wrong."""
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join()
        if self.error is not None:
            raise self.error


def foreign_keys_verify(model_list: Iterable[type[models.Model]]) -> int:
    """Every foreign key of every row of these tables points at an existing row: one scan of
    each table, anti-joined with its parents. Raises with the broken keys; returns the rows."""
    quote = connection.ops.quote_name
    checked = 0
    broken = []
    for model in model_list:
        keys = [f for f in model._meta.concrete_fields if f.is_relation and f.column]
        if not keys:
            continue
        table = quote(model._meta.db_table)
        joins, counts = [], ["count(*)"]
        for i, key in enumerate(keys):
            assert key.related_model is not None and key.column is not None
            parent = key.related_model._meta
            target = quote(key.target_field.column)  # type: ignore[attr-defined]
            column, alias = quote(key.column), f"p{i}"
            joins.append(
                f"LEFT JOIN {quote(parent.db_table)} {alias} ON {alias}.{target} = c.{column}"
            )
            counts.append(
                f"count(*) FILTER (WHERE c.{column} IS NOT NULL AND {alias}.{target} IS NULL)"
            )
        # Names from the models' metadata, quoted: nothing here comes from outside.
        sql = f"SELECT {', '.join(counts)} FROM {table} c {' '.join(joins)}"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql)
            total, *missing = cursor.fetchone()
        checked += total
        broken += [
            f"{model.__name__}.{key.name}: {n}" for key, n in zip(keys, missing, strict=True) if n
        ]
    if broken:
        raise RuntimeError(f"rows pointing at nothing: {', '.join(broken)}")
    return checked


def requests_copy_to(
    cast: Cast, total: int, *, tables: _Tables, writer: CopyQueue, report: LoadReport, seed: int
) -> int:
    """Queue COPY batches that bring the hospital to ``total`` requests; returns how many
    requests they add. Reads only this hospital's rows, which no queued batch touches."""
    existing = OffLabelRequest.objects.filter(hospital=cast.hospital).count()
    rng = random.Random(seed + existing)  # noqa: S311 - invented data, not secrets
    taken = set(Patient.objects.filter(hospital=cast.hospital).values_list("pseudonym", flat=True))
    pseudonyms = pseudonyms_unique(rng, taken)
    added = 0
    while existing + added < total:
        size = min(REQUEST_BATCH, total - existing - added)
        job = _requests_batch(cast, size, rng, pseudonyms, tables)
        writer.put(job)
        for name, _, rows in job:
            report.add(name, len(rows))
        added += size
    return added


def audit_copy_to(
    casts: Sequence[Cast],
    total: int,
    *,
    writer: CopyQueue,
    report: LoadReport,
    seed: int,
    progress: Callable[[str], None],
) -> int:
    """Queue invented events about the hospitals' requests (each event picks a hospital at
    random, then one of its requests and its prescriber or pharmacist) until the chain holds
    ``total``, hashed and chained as ``dataset.audit_fill_to`` does; returns how many. The
    caller moves the head onto the last (``audit_head_move``) once every batch is written."""
    head, _ = AuditChainHead.objects.get_or_create(pk=1)
    sequence, previous_hash = head.last_sequence, head.last_hash or GENESIS_HASH
    missing = total - AuditEvent.objects.count()
    if missing <= 0:
        return 0
    rng = random.Random(seed)  # noqa: S311 - invented data, not secrets
    region = []
    usernames: dict[int, str] = {}
    for cast in casts:
        rows = list(
            OffLabelRequest.objects.filter(hospital=cast.hospital)
            .order_by("pk")
            .values_list("pk", "prescriber_id")
        )
        if not rows:
            raise RuntimeError(f"{cast.hospital.code} has no request to audit")
        region.append((cast.hospital.pk, cast.pharmacist.pk, rows))
        for user in (cast.pharmacist, *cast.physicians):
            usernames[user.pk] = user.get_username()
    # Spread over the past year, strictly increasing, ending before any event already written
    # (as audit_fill_to places them).
    last = AuditEvent.objects.order_by("-sequence").values_list("occurred_at", flat=True).first()
    end = min(last, timezone.now()) if last else timezone.now()
    step = timedelta(seconds=365 * 86400 / missing)
    moment: datetime = end - step * (missing + 1)
    versions = range(7)
    before = {v: {"version": v} for v in versions}
    after = {v: {"version": v + 1, "note": "invented"} for v in versions}
    before_json = {v: _json(value) for v, value in before.items()}
    after_json = {v: _json(value) for v, value in after.items()}
    spoken = {action: action.replace(".", " ") for action in AUDIT_ACTIONS}
    events = CopyTable(AuditEvent, [*AUDIT_HASHED_FIELDS, "event_hash"], now=timezone.now())
    if events.defaults or AUDIT_HASHED_FIELDS != EVENT_LINE_FIELDS:
        # The lines below are written field by field: a field added to the event or to its
        # hash must be added here too.
        raise RuntimeError(f"the audit event's fields changed: {events.sql}")
    # The text of each line is made here rather than by psycopg's write_row: a third of the
    # cost, and the hashing already holds the interpreter. Constants escaped once.
    name_text = {pk: copy_text(name) for pk, name in usernames.items()}
    before_text = {v: copy_text(value) for v, value in before_json.items()}
    after_text = {v: copy_text(value) for v, value in after_json.items()}
    for constant in (OBJECT_TYPE, *AUDIT_ACTIONS, *spoken.values()):
        assert copy_text(constant) == constant, constant
    random_ = rng.random  # int(random_() * n): a third of randrange's cost, as uniform
    n_region, n_actions = len(region), len(AUDIT_ACTIONS)
    written = 0
    started = time.monotonic()
    next_progress = min(missing, 1_000_000)
    while written < missing:
        size = min(EVENT_BATCH, missing - written)
        lines = []
        for _ in range(size):
            hospital_id, pharmacist_id, rows = region[int(random_() * n_region)]
            request_id, prescriber_id = rows[int(random_() * len(rows))]
            actor_id = prescriber_id if random_() < 0.5 else pharmacist_id
            action = AUDIT_ACTIONS[int(random_() * n_actions)]
            sequence += 1
            moment += step
            updated = action == "request.updated"
            version = sequence % 7
            values = (
                sequence,
                moment,
                actor_id,
                usernames[actor_id],
                hospital_id,
                action,
                OBJECT_TYPE,
                str(request_id),
                f"{request_reference(request_id)}: {spoken[action]} (invented)",
                before[version] if updated else None,
                after[version] if updated else None,
                f"10.20.{int(random_() * 256)}.{1 + int(random_() * 254)}",
                previous_hash,
            )
            event_hash = audit_values_hash(values)
            lines.append(
                f"{sequence}\t{moment.isoformat()}\t{actor_id}\t{name_text[actor_id]}\t"
                f"{hospital_id}\t{action}\t{OBJECT_TYPE}\t{values[7]}\t{values[8]}\t"
                f"{before_text[version] if updated else NULL}\t"
                f"{after_text[version] if updated else NULL}\t"
                f"{values[11]}\t{previous_hash}\t{event_hash}\n"
            )
            previous_hash = event_hash
        writer.put([("audit events", events, "".join(lines))])
        written += size
        report.add("audit events", size)
        if written >= next_progress:
            next_progress = min(missing, next_progress + 1_000_000)
            elapsed = time.monotonic() - started
            progress(
                f"audit events: {written:,} of {missing:,} hashed, chained and queued "
                f"({written / elapsed:,.0f}/s)"
            )
    return written


def audit_head_move() -> None:
    """Move the chain head onto the last event (its trigger checks that the event exists and
    that the head only moves forward)."""
    last = AuditEvent.objects.order_by("-sequence").values_list("sequence", "event_hash").first()
    if last is not None:
        AuditChainHead.objects.filter(pk=1).update(last_sequence=last[0], last_hash=last[1])


LOADED_MODELS: tuple[type[models.Model], ...] = (
    Patient,
    Patient.treating_physicians.through,
    OffLabelRequest,
    RequestTransition,
    PathwayChoice,
    EvidenceAttachment,
    Application,
    Dispensation,
    AuditEvent,
)


def scale_load(
    casts: Sequence[Cast],
    *,
    requests_per_hospital: int,
    events: int,
    progress: Callable[[str], None] = lambda message: None,
    seed: int = 20260301,
    writers: int = WRITERS,
) -> LoadReport:
    """Bring every hospital to ``requests_per_hospital`` requests and the chain to ``events``
    audit events, with COPY, then verify every foreign key and move the chain head. PostgreSQL
    only. The caller runs ANALYZE afterwards.

    ``writers``: threads copying the batches, each with its own connection (see ``CopyQueue``);
    0 keeps every row in the caller's transaction (the tests)."""
    if connection.vendor != "postgresql":
        raise RuntimeError("the scale load uses PostgreSQL's COPY")
    report = LoadReport()
    started = time.monotonic()
    tables = _Tables(timezone.now())
    writer = CopyQueue(threads=writers)
    try:
        for i, cast in enumerate(casts, start=1):
            before = report.total
            added = requests_copy_to(
                cast,
                requests_per_hospital,
                tables=tables,
                writer=writer,
                report=report,
                seed=seed + 1000 * i,
            )
            elapsed = time.monotonic() - started
            progress(
                f"hospital {i}/{len(casts)} ({cast.hospital.code}): {added:,} requests, "
                f"{report.total - before:,} rows generated; {report.total:,} rows, "
                f"{report.total / elapsed:,.0f} rows/s so far"
            )
    finally:
        writer.close()
    progress(f"requests written: {report.total:,} rows in {time.monotonic() - started:.0f} s")
    writer = CopyQueue(threads=writers)
    try:
        audit_copy_to(casts, events, writer=writer, report=report, seed=seed, progress=progress)
    finally:
        writer.close()
    audit_head_move()
    progress(f"everything written: {report.total:,} rows in {time.monotonic() - started:.0f} s")
    if writer.skip_row_triggers:
        verify_started = time.monotonic()
        checked = foreign_keys_verify(LOADED_MODELS)
        progress(
            f"foreign keys verified set-wise: {checked:,} rows in "
            f"{time.monotonic() - verify_started:.0f} s"
        )
    report.seconds = time.monotonic() - started
    return report
