from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from flowdesk.web.views import LoginView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("flowdesk.api.urls")),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("audit/", include("flowdesk.audit.urls")),
    path("catalog/", include("flowdesk.catalog.urls")),
    path("manage/notifications/", include("flowdesk.notify.urls")),
    path("manage/calendars/", include("flowdesk.sla.urls")),
    path("manage/", include("flowdesk.web.manage_urls")),
    path("designer/", include("flowdesk.workflows.urls")),
    path("", include("flowdesk.tickets.urls")),
    path("", include("flowdesk.automation.urls")),
    path("", include("flowdesk.web.urls")),
]
if settings.FLOWDESK_OIDC_ENABLED:  # single sign-on (flowdesk/directory/sso.py)
    urlpatterns += [path("oidc/", include("mozilla_django_oidc.urls"))]
