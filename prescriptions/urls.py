from django.urls import path

from prescriptions import views

app_name = "requests"

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("all/", views.request_list_view, name="list"),
    path("queue/", views.request_list_view, {"queue": True}, name="queue"),
    path("new/", views.request_new_view, name="new"),
    path("<int:pk>/", views.request_detail_view, name="detail"),
    path("<int:pk>/patient/", views.step_patient_view, name="step-patient"),
    path("<int:pk>/regimen/", views.step_regimen_view, name="step-regimen"),
    path("<int:pk>/evidence/", views.step_evidence_view, name="step-evidence"),
    path("<int:pk>/evidence/attach/", views.attachment_add_view, name="attach"),
    path(
        "<int:pk>/evidence/<int:attachment_id>/remove/", views.attachment_remove_view, name="detach"
    ),
    path("<int:pk>/review/", views.step_review_view, name="step-review"),
    path("<int:pk>/transition/", views.request_transition_view, name="transition"),
    path("<int:pk>/discard/", views.request_discard_view, name="discard"),
    path("patients/<int:pk>/identity/", views.patient_identity_view, name="patient-identity"),
    path(
        "patients/<int:pk>/identity/correct/",
        views.patient_identity_correct_view,
        name="patient-identity-correct",
    ),
]
