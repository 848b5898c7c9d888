from django.urls import path

from evidence import views

app_name = "evidence"

urlpatterns = [
    path("", views.study_list_view, name="study-list"),
    path("new/", views.study_add_view, name="study-add"),
    path("<int:pk>/", views.study_detail_view, name="study-detail"),
    path("<int:pk>/edit/", views.study_edit_view, name="study-edit"),
]
