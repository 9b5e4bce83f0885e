from django.urls import path
from django.views.generic import RedirectView

app_name = "web"

# The pages of issue "Flowdesk web" come here; until then the admin site is the way in.
urlpatterns = [path("", RedirectView.as_view(pattern_name="admin:index"), name="home")]
