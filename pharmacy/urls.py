from django.urls import path

from pharmacy import views

app_name = "pharmacy"

urlpatterns = [
    path("requests/<int:pk>/", views.request_pharmacy_view, name="request"),
    path("requests/<int:pk>/override/", views.override_view, name="override"),
    path("requests/<int:pk>/tls/", views.tls_view, name="tls"),
    path("requests/<int:pk>/dispense/", views.dispense_view, name="dispense"),
    path("prices/", views.prices_view, name="prices"),
    path("costs/", views.costs_view, name="costs"),
]
