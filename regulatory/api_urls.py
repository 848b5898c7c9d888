from django.urls import path

from regulatory import apis

urlpatterns = [
    path("requests/<int:pk>/routing/", apis.RoutingApi.as_view(), name="api-routing"),
    path("requests/<int:pk>/pathway/", apis.PathwayChoiceApi.as_view(), name="api-pathway"),
    path("requests/<int:pk>/checklist/", apis.ChecklistApi.as_view(), name="api-checklist"),
    path(
        "requests/<int:pk>/applications/",
        apis.ApplicationListApi.as_view(),
        name="api-applications",
    ),
    path("requests/<int:pk>/dossiers/", apis.DossierApi.as_view(), name="api-dossiers"),
    path("checklist-items/<int:item_id>/attest/", apis.AttestApi.as_view(), name="api-attest"),
    path(
        "checklist-items/<int:item_id>/document/", apis.DocumentApi.as_view(), name="api-document"
    ),
    path(
        "applications/<int:application_id>/step/",
        apis.ApplicationStepApi.as_view(),
        name="api-application-step",
    ),
    path("reminders/", apis.ReminderListApi.as_view(), name="api-reminders"),
    path("pathways/", apis.PathwayListApi.as_view(), name="api-pathways"),
    path(
        "pathways/<slug:code>/versions/",
        apis.PathwayVersionEditApi.as_view(),
        name="api-pathway-versions",
    ),
    path(
        "pathways/<slug:code>/local-items/",
        apis.LocalChecklistItemListApi.as_view(),
        name="api-local-items",
    ),
    path(
        "local-checklist-items/<int:item_id>/deactivate/",
        apis.LocalChecklistItemDeactivateApi.as_view(),
        name="api-local-item-deactivate",
    ),
]
