from django.urls import path

from pharmacy import apis

urlpatterns = [
    path("requests/<int:pk>/safety/", apis.SafetyApi.as_view(), name="api-safety"),
    path("requests/<int:pk>/plan/", apis.PlanApi.as_view(), name="api-plan"),
    path(
        "requests/<int:pk>/safety/overrides/",
        apis.SafetyOverrideApi.as_view(),
        name="api-safety-override",
    ),
    path("requests/<int:pk>/tls/", apis.TlsApi.as_view(), name="api-tls"),
    path(
        "requests/<int:pk>/dispensations/",
        apis.DispensationsApi.as_view(),
        name="api-dispensations",
    ),
    path("drug-prices/", apis.DrugPricesApi.as_view(), name="api-drug-prices"),
]
