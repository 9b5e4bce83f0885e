from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from flowdesk.api.problems import not_found
from flowdesk.api.views.attachments import AttachmentViewSet
from flowdesk.api.views.automation import AutomationRunViewSet, CallbackView
from flowdesk.api.views.catalog import CatalogViewSet, ServiceViewSet
from flowdesk.api.views.directory import BusinessViewSet, RoleViewSet, UserViewSet
from flowdesk.api.views.tasks import TaskViewSet
from flowdesk.api.views.tickets import TicketViewSet
from flowdesk.api.views.tokens import TokenViewSet
from flowdesk.api.views.workflows import WorkflowViewSet

app_name = "api"

router = SimpleRouter()
router.register("tickets", TicketViewSet, basename="ticket")
router.register("tasks", TaskViewSet, basename="task")
router.register("services", ServiceViewSet, basename="service")
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("users", UserViewSet, basename="user")
router.register("businesses", BusinessViewSet, basename="business")
router.register("roles", RoleViewSet, basename="role")
router.register("tokens", TokenViewSet, basename="token")
router.register("attachments", AttachmentViewSet, basename="attachment")
router.register("automation-runs", AutomationRunViewSet, basename="automation-run")

urlpatterns = [
    path("v1/catalog/", CatalogViewSet.as_view({"get": "tree"}), name="catalog"),
    path("v1/callbacks/<str:token>/", CallbackView.as_view(), name="automation-callback"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^(?P<path>[\s\S]*)\Z", not_found),  # any path, newlines too
]
