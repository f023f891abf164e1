from django.urls import path

from . import exercise_views as views

app_name = "exercises"

urlpatterns = [
    path("plans/<id:pk>/exercises/", views.exercise_list, name="exercise_list"),
    path("plans/<id:pk>/exercises/new/", views.exercise_create, name="exercise_create"),
    path("plans/<id:pk>/exercises/<id:exercise_id>/", views.exercise_detail, name="exercise_detail"),
    path("plans/<id:pk>/exercises/<id:exercise_id>/edit/", views.exercise_edit, name="exercise_edit"),
    path("plans/<id:pk>/exercises/<id:exercise_id>/hold/", views.exercise_hold, name="exercise_hold"),
    path("plans/<id:pk>/exercises/<id:exercise_id>/results/", views.exercise_results, name="exercise_results"),
    path("plans/<id:pk>/exercises/<id:exercise_id>/report/issue/", views.exercise_report_issue,
         name="exercise_report_issue"),
    path("plans/<id:pk>/exercises/<id:exercise_id>/report.pdf", views.exercise_report, name="exercise_report"),
    path("plans/<id:pk>/exercises/<id:exercise_id>/close/", views.exercise_close, name="exercise_close"),
    path("plans/<id:pk>/exercises/<id:exercise_id>/findings/new/", views.finding_create, name="finding_create"),
    path("plans/<id:pk>/findings/", views.finding_list, name="finding_list"),
    path("plans/<id:pk>/findings/<id:finding_id>/", views.finding_detail, name="finding_detail"),
    path("plans/<id:pk>/findings/<id:finding_id>/accept-risk/", views.finding_accept_risk,
         name="finding_accept_risk"),
]
