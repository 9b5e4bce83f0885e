from django.urls import path

from flowdesk.web import manage_views as views

app_name = "manage"

urlpatterns = [
    path("", views.index, name="index"),
    path("businesses/", views.business_list, name="business_list"),
    path("businesses/new/", views.business_edit, name="business_add"),
    path("businesses/<str:key>/", views.business_edit, name="business_edit"),
    path(
        "businesses/<str:key>/members/<str:change>/",
        views.business_member,
        name="business_member",
    ),
    path("roles/", views.role_list, name="role_list"),
    path("roles/new/", views.role_edit, name="role_add"),
    path("roles/<str:key>/", views.role_edit, name="role_edit"),
    path("roles/<str:key>/members/<str:change>/", views.role_member, name="role_member"),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_edit, name="user_add"),
    path("users/<str:username>/", views.user_edit, name="user_edit"),
    path("users/<str:username>/permissions/", views.user_permission, name="user_permission"),
    path("services/", views.service_list, name="service_list"),
    path("services/new/", views.service_edit, name="service_add"),
    path("services/<slug:key>/", views.service_edit, name="service_edit"),
    path("catalog/", views.catalog, name="catalog"),
    path("catalog/new/", views.directory_edit, name="directory_add"),
    path("catalog/<slug:key>/", views.directory_edit, name="directory_edit"),
    path("catalog/<slug:key>/attach/", views.directory_attach, name="directory_attach"),
]
