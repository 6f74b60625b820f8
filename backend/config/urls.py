from django.contrib import admin
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse

from core.apis import TokenObtainApi


class SwaggerView(SpectacularSwaggerView):
    """Swagger UI. It authenticates before choosing a renderer: its only renderer is an HTML template whose context
    reads the user, so a bad token with ``Accept: application/json`` would otherwise fail while rendering the 406
    (a 500) instead of answering 401."""

    def initial(self, request, *args, **kwargs):
        self.perform_authentication(request)
        super().initial(request, *args, **kwargs)


class RedocView(SpectacularRedocView):
    """ReDoc from the sidecar's static files, without web fonts; images only from here (the bundle's sidebar
    shows a logo from cdn.redoc.ly, which the policy blocks: nothing leaves for another host)."""

    template_name = "api_docs/redoc.html"

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = "img-src 'self' data:"
        return response


@extend_schema(exclude=True)
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request, format=None):
    """Where everything is: the schema, the docs, sign-in, and the analytics endpoints."""
    return Response(
        {
            "schema": reverse("schema", request=request),
            "docs": reverse("swagger-ui", request=request),
            "redoc": reverse("redoc", request=request),
            "token": reverse("auth-token", request=request),
            "me": reverse("me", request=request),
            "teacher_performance": reverse("teacher-performance", request=request),
            "school_health": reverse("school-health", request=request),
            "student_overview": request.build_absolute_uri("/api/analytics/student/{id}/overview/"),
        }
    )


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    path("api/", api_root, name="api-root"),
    path("api/auth/token/", TokenObtainApi.as_view(), name="auth-token"),
    path("api/auth/", include("core.urls")),
    path("api/", include("schools.urls")),
    path("api/", include("attendance.urls")),
    path("api/", include("homework.urls")),
    path("api/", include("communication.urls")),
    path("api/", include("finance.urls")),
    path("api/analytics/", include("analytics.urls")),
    path("", include("reportcards.urls")),
    path("", include("dashboards.urls")),
]
