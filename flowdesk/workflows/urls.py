from django.urls import path

from flowdesk.workflows import views

app_name = "workflows"

urlpatterns = [
    path("", views.workflow_list, name="workflow_list"),
    path("new/", views.workflow_add, name="workflow_add"),
    path("<slug:key>/", views.workflow_edit, name="workflow_edit"),
    path("<slug:key>/save/", views.workflow_save, name="workflow_save"),
    path("<slug:key>/validate/", views.workflow_validate, name="workflow_validate"),
    path("<slug:key>/deploy/", views.workflow_deploy, name="workflow_deploy"),
    path("<slug:key>/yaml/", views.workflow_yaml, name="workflow_yaml"),
    path("<slug:key>/yaml/apply/", views.workflow_yaml_apply, name="workflow_yaml_apply"),
    path("<slug:key>/history/", views.workflow_history, name="workflow_history"),
]
