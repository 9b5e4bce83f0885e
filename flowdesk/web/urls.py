from django.urls import path

from flowdesk.web import views

app_name = "web"

urlpatterns = [
    path("", views.workbench, name="home"),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/", views.token_create, name="token_create"),
    path("profile/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("users/search/", views.user_search, name="user_search"),
]
