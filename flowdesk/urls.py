from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("flowdesk.api.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("flowdesk.web.urls")),
]
