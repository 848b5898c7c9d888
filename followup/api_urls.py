from rest_framework.routers import SimpleRouter

from followup import apis

# SimpleRouter: the API root view belongs to the project's main router.
router = SimpleRouter()
router.register("followup/assessments", apis.ResponseAssessmentViewSet, basename="fu-assessment")
router.register("followup/adverse-events", apis.AdverseEventViewSet, basename="fu-adverse-event")
router.register("followup/records", apis.FollowUpViewSet, basename="fu-record")
router.register(
    "followup/pv-reminders", apis.PharmacovigilanceReminderViewSet, basename="fu-pv-reminder"
)
router.register("followup/renewal-reports", apis.RenewalReportViewSet, basename="fu-renewal-report")

urlpatterns = router.urls
