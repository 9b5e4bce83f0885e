from django.urls import path

from flowdesk.catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.catalog_index, name="catalog_index"),
    path("<slug:key>/", views.service_submit, name="service_submit"),
    path("<slug:key>/form/", views.service_form, name="service_form"),
]
