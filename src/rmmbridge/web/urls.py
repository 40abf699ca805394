"""URL routes of the web shell: login, logout, dashboard, settings."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from rmmbridge.web import auth, views

app_name = "web"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/two-factor/", auth.otp_setup, name="otp_setup"),
]
