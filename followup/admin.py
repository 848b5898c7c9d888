"""Browse only: follow-up data change through the audited services, never the admin."""

from django.contrib import admin

from followup.models import (
    AdverseEvent,
    FollowUp,
    PharmacovigilanceReminder,
    RenewalReport,
    ReportingDeadline,
    ResponseAssessment,
)
from offlabel.admin import ReadOnlyAdmin


@admin.register(ResponseAssessment)
class ResponseAssessmentAdmin(ReadOnlyAdmin):
    list_display = ["request", "assessed_on", "response", "mrd", "recorded_by"]
    list_filter = ["response", "mrd"]


@admin.register(AdverseEvent)
class AdverseEventAdmin(ReadOnlyAdmin):
    list_display = ["request", "term", "grade", "serious", "onset_on", "outcome", "relation"]
    list_filter = ["term", "grade", "serious", "outcome", "relation"]


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    list_display = [
        "request",
        "transplant_on",
        "treatment_end_on",
        "treatment_end_reason",
        "death_on",
        "last_contact_on",
    ]


@admin.register(PharmacovigilanceReminder)
class PharmacovigilanceReminderAdmin(ReadOnlyAdmin):
    list_display = ["adverse_event", "hospital", "due_at", "resolved_at", "report_reference"]
    list_filter = ["hospital"]


@admin.register(ReportingDeadline)
class ReportingDeadlineAdmin(ReadOnlyAdmin):
    """Changed by a data migration that adds a version, so reminders keep the rule they used."""

    list_display = ["country", "biological", "hours", "version", "is_current", "confirmed"]


@admin.register(RenewalReport)
class RenewalReportAdmin(ReadOnlyAdmin):
    list_display = ["request", "status", "requested_by", "requested_at", "rendered_at", "sha256"]
    list_filter = ["status"]
