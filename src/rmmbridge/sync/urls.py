"""URL routes of rmmbridge.sync: Imports, sync setup of an integration, preview and run history."""

from __future__ import annotations

from django.urls import path

from rmmbridge.sync import views

app_name = "sync"
urlpatterns = [
    path("", views.imports, name="imports"),
    path("integrations/<int:pk>/", views.integration_setup, name="integration_setup"),
    path("integrations/<int:pk>/mappings/<str:table>/add/", views.mapping_add, name="mapping_add"),
    path("integrations/<int:pk>/mappings/<str:table>/<int:row_id>/edit/", views.mapping_edit, name="mapping_edit"),
    path("integrations/<int:pk>/rmm-lists/refresh/", views.catalog_refresh, name="catalog_refresh"),
    path("integrations/<int:pk>/mappings/customers/accept-suggestions/", views.accept_suggestions,
         name="accept_suggestions"),
    path("integrations/<int:pk>/mappings/<str:table>/<int:row_id>/delete/", views.mapping_delete,
         name="mapping_delete"),
    path("runs/<int:run_id>/", views.run_detail, name="run_detail"),
    path("assets/<int:asset_id>/links/<int:ref_id>/unlink/", views.asset_unlink, name="asset_unlink"),
]
