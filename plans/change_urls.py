from django.urls import path

from . import change_views

app_name = "changes"

urlpatterns = [
    path("plans/<id:pk>/changes/", change_views.plan_changes_list, name="plan_changes"),
    path("plans/<id:pk>/audit/", change_views.plan_audit, name="plan_audit"),
    path("audit/", change_views.org_audit, name="org_audit"),
]
