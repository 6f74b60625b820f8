"""Swagger UI and ReDoc are served from this server's static files (the browser test loads them)."""

import pytest
from django.core.management import call_command
from django.test import Client


def test_the_schema_has_no_warning_with_the_docs_views(tmp_path):
    """The ReDoc view of config/urls.py is left out of the schema like drf-spectacular's own."""
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


@pytest.mark.django_db
def test_swagger_ui_and_redoc_pages_point_only_at_local_files():
    swagger = Client().get("/api/docs/").content.decode()
    redoc_response = Client().get("/api/redoc/")
    redoc = redoc_response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in swagger
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in redoc
    for page in (swagger, redoc):
        assert "https://" not in page and "http://" not in page.replace("http://testserver", "")
    assert redoc_response["Content-Security-Policy"] == "img-src 'self' data:"
