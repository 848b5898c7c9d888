from django.urls import path

from regulatory import views

app_name = "regulatory"

urlpatterns = [
    path("due/", views.due_soon_view, name="due-soon"),
    path("due/<int:reminder_id>/done/", views.reminder_resolve_view, name="reminder-done"),
    path("rules/", views.rules_view, name="rules"),
    path("rules/<slug:code>/edit/", views.rule_edit_view, name="rule-edit"),
    path("rules/<slug:code>/preview/", views.rule_preview_view, name="rule-preview"),
    path("rules/<slug:code>/local/", views.local_item_add_view, name="local-item-add"),
    path(
        "rules/local/<int:item_id>/deactivate/",
        views.local_item_deactivate_view,
        name="local-item-deactivate",
    ),
    path("requests/<int:pk>/pathway/", views.step_pathway_view, name="step-pathway"),
    path(
        "requests/<int:pk>/checklist/<int:item_id>/attest/",
        views.checklist_attest_view,
        name="attest",
    ),
    path(
        "requests/<int:pk>/checklist/<int:item_id>/upload/",
        views.checklist_upload_view,
        name="upload",
    ),
    path("requests/<int:pk>/dossier/", views.dossier_request_view, name="dossier"),
    path(
        "dossiers/<int:dossier_id>/download/",
        views.dossier_download_view,
        name="dossier-download",
    ),
    path(
        "requests/<int:pk>/applications/", views.application_create_view, name="application-create"
    ),
    path(
        "requests/<int:pk>/applications/<int:application_id>/step/",
        views.application_step_view,
        name="application-step",
    ),
]
