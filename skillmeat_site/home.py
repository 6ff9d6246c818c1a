"""The site's front door: where a person lands when they open the root URL."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path


def home(request: HttpRequest) -> HttpResponse:
    return redirect("/api/v1/")


urlpatterns = [path("", home, name="home")]
