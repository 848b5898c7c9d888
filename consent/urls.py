from django.urls import path

from consent import views

app_name = "consent"

urlpatterns = [
    path("requests/<int:pk>/panel/", views.consent_panel_view, name="panel"),
    path("requests/<int:pk>/prepare/", views.consent_prepare_view, name="prepare"),
    path("documents/<int:document_id>/download/", views.consent_download_view, name="download"),
    path("documents/<int:document_id>/sign/", views.consent_sign_view, name="sign"),
    path(
        "signatures/<int:signature_id>/record/",
        views.consent_record_download_view,
        name="record-download",
    ),
    path("signatures/<int:signature_id>/withdraw/", views.consent_withdraw_view, name="withdraw"),
]
