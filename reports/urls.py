from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.report_view, name="report"),
    path("report.csv", views.report_csv_view, name="csv"),
    path("report.xlsx", views.report_xlsx_view, name="xlsx"),
    path("pdf/", views.report_pdf_view, name="pdf"),
    path("pdf/panel/", views.exports_panel_view, name="exports-panel"),
    path("pdf/<int:pk>/download/", views.export_download_view, name="export-download"),
    path("audit/", views.audit_view, name="audit"),
    path("audit/checks/", views.audit_checks_panel_view, name="audit-checks"),
    path("audit/verify/", views.audit_verify_view, name="audit-verify"),
]
