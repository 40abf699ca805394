"""URL routes of rmmbridge.tickets."""

from __future__ import annotations

from django.urls import URLPattern, path

from rmmbridge.tickets import views

app_name = "tickets"
urlpatterns: list[URLPattern] = [
    path("", views.ticket_list, name="ticket_list"),
    path("new/", views.ticket_create, name="ticket_create"),
    path("types/", views.ticket_types, name="ticket_types"),
    path("<int:pk>/", views.ticket_detail, name="ticket_detail"),
    path("<int:pk>/close/", views.ticket_close, name="ticket_close"),
    path("<int:pk>/status/", views.ticket_status, name="ticket_status"),
    path("<int:pk>/assign/", views.ticket_assign, name="ticket_assign"),
    path("<int:pk>/note/", views.ticket_note, name="ticket_note"),
]
