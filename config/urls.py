"""URL routes: Django admin is the staff console, with a dashboard page beside it."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from runtime.dashboard import dashboard

# The index gains a link to the dashboard; everything else on it is Django's.
admin.site.index_template = "admin/runtime/index.html"

urlpatterns = [
    # admin_view: staff only, and anyone else is sent to the admin login page.
    path("admin/dashboard/", admin.site.admin_view(dashboard), name="dashboard"),
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
