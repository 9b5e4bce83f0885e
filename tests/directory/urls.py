"""The admin site alone, for the directory's admin tests (the project has no urls.py yet)."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
