"""URL routes of the service-desk core pages."""

from __future__ import annotations

from django.urls import path

from rmmbridge.servicedesk import asset_views, views

app_name = "servicedesk"
urlpatterns = [
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/new/", views.customer_create, name="customer_create"),
    path("customers/<int:pk>/", views.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("sites/", views.site_list, name="site_list"),
    path("sites/new/", views.site_create, name="site_create"),
    path("sites/<int:pk>/edit/", views.site_edit, name="site_edit"),
    path("sites/<int:pk>/make-main/", views.site_make_main, name="site_make_main"),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/edit/", views.user_edit, name="user_edit"),
    path("assets/", asset_views.asset_list, name="asset_list"),
    path("assets/new/", asset_views.asset_create, name="asset_create"),
    path("assets/<int:pk>/", asset_views.asset_detail, name="asset_detail"),
    path("assets/<int:pk>/edit/", asset_views.asset_edit, name="asset_edit"),
]
