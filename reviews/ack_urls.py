from django.urls import path

from . import ack_views

app_name = "acks"

urlpatterns = [
    # Email links: no login, the signed token is the credential for this one action.
    path("l/<str:token>/", ack_views.ack_link, name="link"),
    path("l/<str:token>/new-link/", ack_views.ack_link_new, name="link_new"),
    path("new-link-sent/", ack_views.ack_link_new_sent, name="link_new_sent"),
    # Signed-in pages.
    path("plans/<id:pk>/acknowledge/", ack_views.plan_ack, name="plan_ack"),
    path("plans/<id:pk>/distribution/", ack_views.distribution_edit, name="distribution_edit"),
    path("plans/<id:pk>/coverage/", ack_views.coverage, name="coverage"),
    path("plans/<id:pk>/coverage.csv", ack_views.coverage_csv, name="coverage_csv"),
    path("plans/<id:pk>/coverage/remind/", ack_views.coverage_remind, name="coverage_remind"),
]
