from django.urls import path

from consent import apis

urlpatterns = [
    path(
        "requests/<int:pk>/consents/", apis.ConsentRequestApi.as_view(), name="api-consent-request"
    ),
    path("consents/<int:document_id>/", apis.ConsentDocumentApi.as_view(), name="api-consent"),
    path(
        "consents/<int:document_id>/sign/", apis.ConsentSignApi.as_view(), name="api-consent-sign"
    ),
    path(
        "consents/<int:document_id>/withdraw/",
        apis.ConsentWithdrawApi.as_view(),
        name="api-consent-withdraw",
    ),
]
