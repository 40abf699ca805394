"""URL routes of the device-buttons pages (mounted under /integrations/, namespace buttons)."""

from __future__ import annotations

from django.urls import path

from rmmbridge.buttons import views

app_name = "buttons"
urlpatterns = [
    path("<int:pk>/buttons/", views.integration_buttons, name="integration_buttons"),
    path("<int:pk>/buttons/add/", views.button_add, name="button_add"),
    path("<int:pk>/buttons/defaults/", views.button_defaults, name="button_defaults"),
    path("<int:pk>/buttons/<int:button_id>/", views.button_edit, name="button_edit"),
    path("<int:pk>/buttons/<int:button_id>/delete/", views.button_delete, name="button_delete"),
]
