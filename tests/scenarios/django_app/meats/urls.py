"""URLs of the meats scenario project."""
from django.urls import path

from . import views

urlpatterns = [
    path("", views.index),
    path("db/", views.db),
    path("slow-db/", views.slow_db),
    path("upstream/", views.upstream),
]
