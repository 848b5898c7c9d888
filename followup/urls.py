from django.urls import path

from followup import views

app_name = "followup"

urlpatterns = [
    path("registry/", views.registry_view, name="registry"),
    path("registry/law-648.csv", views.registry_export_648_view, name="export-648"),
    path("requests/<int:pk>/panel/", views.panel_view, name="panel"),
    path("requests/<int:pk>/assessments/", views.assessment_create_view, name="assessment-create"),
    path(
        "requests/<int:pk>/adverse-events/",
        views.adverse_event_create_view,
        name="adverse-event-create",
    ),
    path(
        "adverse-events/<int:event_id>/update/",
        views.adverse_event_update_view,
        name="adverse-event-update",
    ),
    path("requests/<int:pk>/record/", views.followup_update_view, name="followup-update"),
    path(
        "pv-reminders/<int:reminder_id>/resolve/",
        views.pv_reminder_resolve_view,
        name="pv-resolve",
    ),
    path(
        "requests/<int:pk>/renewal-report/",
        views.renewal_report_request_view,
        name="report-request",
    ),
    path(
        "renewal-reports/<int:report_id>/download/",
        views.renewal_report_download_view,
        name="report-download",
    ),
]
