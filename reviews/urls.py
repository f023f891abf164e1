from django.urls import path

from . import views

app_name = "reviews"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<id:pk>/", views.review_detail, name="review_detail"),
    path("<id:pk>/approve/", views.approve, name="approve"),
    path("<id:pk>/request-changes/", views.request_changes, name="request_changes"),
    path("plans/<id:pk>/submit/", views.submit, name="submit"),
    path("plans/<id:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("plans/<id:pk>/archive/", views.archive, name="archive"),
    path("plans/<id:pk>/restore/", views.restore, name="restore"),
]
