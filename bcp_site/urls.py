from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from . import views
from .limits import IdConverter

# `<id:pk>`: a database id (1 .. 2**63-1). Registered before the apps' URLs are included,
# so every page takes ids through it; a larger or negative id matches nothing (404).
register_converter(IdConverter, "id")

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),  # load balancer health check: no login, no query
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("reviews.home_urls")),  # home: what needs my attention
    path("", include("plans.urls")),  # plans: list, detail, editing, versions, diffs
    path("", include("plans.file_urls")),  # files: exports, verification, attachments
    path("", include("plans.change_urls")),  # changes: linked changes, audit trail pages
    path("", include("plans.exercise_urls")),  # exercises: plan, hold, results, report; findings
    path("", include("plans.incident_urls")),  # incidents: declare, activate, timeline, review; break-glass packs
    path("", include("plans.vendor_urls")),  # vendors: the organisation's vendor register
    path("", include("plans.collaborator_urls")),  # collaborators: a plan's co-authors, section owners, reviewers
    path("reviews/", include("reviews.urls")),  # reviews: submit, queue, decide
    path("ack/", include("reviews.ack_urls")),  # acks: acknowledgement links and coverage
    path("kpi/", include("reviews.kpi_urls")),  # kpi: the organisation's dashboard and snapshots
    path("", include("reviews.evidence_urls")),  # evidence: a plan's evidence chain for auditors
    path("accounts/", include("plans.account_urls")),  # password reset by email
]

handler400 = "bcp_site.views.bad_request"
handler403 = "bcp_site.views.permission_denied"
handler404 = "bcp_site.views.page_not_found"
handler500 = "bcp_site.views.server_error"
