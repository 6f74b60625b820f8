from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/auth/token/", obtain_auth_token, name="auth-token"),
    path("api/", include("schools.urls")),
    path("api/", include("attendance.urls")),
    path("api/", include("homework.urls")),
    path("api/", include("communication.urls")),
    path("api/", include("finance.urls")),
    path("api/analytics/", include("analytics.urls")),
]
