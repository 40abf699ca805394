"""URL routes of the spreadsheet asset import."""

from django.urls import URLPattern, URLResolver, path

from rmmbridge.spreadsheets import views

app_name = "spreadsheets"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.upload, name="upload"),
    path("sample.xlsx", views.sample, name="sample"),
    path("<int:pk>/", views.preview, name="preview"),
    path("<int:pk>/apply/", views.apply, name="apply"),
]
