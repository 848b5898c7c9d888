from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from accounts.apis import me_api
from accounts.oidc_views import OidcReauthView, SignOutView
from accounts.token import obtain_token, revoke_tokens
from audit.apis import AuditEventViewSet
from audit.auth_events import PasswordChangeAuditedView
from evidence.apis import StudyViewSet
from prescriptions.apis import PatientViewSet, RequestViewSet
from reports.views import home_view

router = DefaultRouter()
router.register("studies", StudyViewSet, basename="study")
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("patients", PatientViewSet, basename="patient")
router.register("requests", RequestViewSet, basename="request")

urlpatterns = [
    path("", home_view, name="home"),
    # set_language: the language switcher in the header posts here.
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    # Django's sign-out, then the provider's after a provider sign-in (accounts.oidc_views).
    path("accounts/logout/", SignOutView.as_view(), name="logout"),
    # Single sign-on (issue 16): mozilla-django-oidc's routes with our views
    # (OIDC_AUTHENTICATE_CLASS, OIDC_CALLBACK_CLASS), and re-authentication for signatures.
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("oidc/reauthenticate/", OidcReauthView.as_view(), name="oidc-reauth"),
    path(
        "accounts/password/",
        PasswordChangeAuditedView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/2fa/", include("accounts.mfa_urls")),  # second factors (issue 16)
    path("studies/", include("evidence.urls")),
    path("requests/", include("prescriptions.urls")),
    path("regulatory/", include("regulatory.urls")),
    path("consent/", include("consent.urls")),
    path("pharmacy/", include("pharmacy.urls")),
    path("reports/", include("reports.urls")),
    path("followup/", include("followup.urls")),
    path("verify/", include("signing.urls")),  # public: no sign-in (issue 16)
    path("api/v1/", include(router.urls)),
    path("api/v1/", include("regulatory.api_urls")),
    path("api/v1/", include("consent.api_urls")),
    path("api/v1/", include("pharmacy.api_urls")),
    path("api/v1/", include("followup.api_urls")),
    path("api/v1/me/", me_api, name="api-me"),
    path("api/v1/auth/token/", obtain_token, name="api-token"),
    path("api/v1/auth/logout/", revoke_tokens, name="api-logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Signed-in only (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); the docs page sends a browser
    # to the sign-in page instead of answering 403.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path("admin/", admin.site.urls),
]

# API paths that match no route answer in JSON too.
handler404 = "offlabel.api_errors.page_not_found"
# A body over the size limit answers 400 in JSON on API paths too (not an HTML page).
handler400 = "offlabel.api_errors.bad_request"
# The application's own pages (templates/403.html, 500.html); JSON on API paths.
handler403 = "offlabel.error_views.permission_denied"
handler500 = "offlabel.error_views.server_error"
