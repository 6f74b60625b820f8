"""ROOT_URLCONF of the benchmark server: the product's URLs, a floor endpoint and the on-the-fly reference.

Served only by ``manage.py bench`` (``DJANGO_ROOT_URLCONF=benchmarks.urls``), never by the product.
"""

import datetime
import json

from django.shortcuts import get_object_or_404
from django.urls import path
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from analytics.apis import IsAdminOrOperator, SchoolHealthSerializer
from benchmarks.reference import school_health_reference
from config.urls import urlpatterns as product_urlpatterns
from schools.models import School
from schools.selectors import in_users_school

# A constant of about the size of a school-health response of one term (12 weekly rows).
FLOOR_PAYLOAD = {
    "schools": [{"id": 1, "name": "Floor School"}],
    "term": {"id": 1, "name": "Autumn term", "start_date": "2026-09-07", "end_date": "2026-11-27"},
    "period": {"from": "2026-09-07", "to": "2026-11-27"},
    "as_of": "2026-11-27T12:00:00Z",
    "revenue": "123456.00",
    "payments_count": 321,
    "amount_billed": "234567.00",
    "outstanding": "111111.00",
    "collection_rate": "52.63",
    "attendance_rate": "93.41",
    "homework_completion_rate": "81.20",
    "today": {
        "students_marked": 950,
        "students_present": 900,
        "students_late": 30,
        "students_absent": 40,
        "students_excused": 10,
        "attendance_rate": "94.10",
    },
    "students_count": 1000,
    "teachers_count": 60,
    "low_attendance": {"threshold": "90.00", "students": 120, "of": 1000, "share": "12.00"},
    "weekly": [
        {
            "week_start": str(datetime.date(2026, 9, 7) + datetime.timedelta(weeks=week)),
            "revenue": "10288.00",
            "amount_billed": "19547.25",
            "attendance_rate": "93.40",
            "homework_completion_rate": "81.25",
        }
        for week in range(12)
    ],
}


MAX_FLOOR_SIZE = 1_000_000
_floor_payloads: dict[int, dict] = {}


def floor_payload(size: int) -> dict:
    """A constant payload of about ``size`` bytes of JSON: the school-health one with as many weekly rows as
    fit (``size`` 0: the one-term payload as it is)."""
    if not size:
        return FLOOR_PAYLOAD
    if size not in _floor_payloads:
        row = FLOOR_PAYLOAD["weekly"][0]
        row_bytes = len(json.dumps(row, separators=(",", ":"))) + 1  # compact, as the JSON renderer writes
        empty = len(json.dumps({**FLOOR_PAYLOAD, "weekly": []}, separators=(",", ":")))
        _floor_payloads[size] = {**FLOOR_PAYLOAD, "weekly": [row] * max(0, (size - empty + 1) // row_bytes)}
    return _floor_payloads[size]


class FloorApi(APIView):
    """The cost of the stack alone: same authentication and permission as school health, no database read,
    a constant payload (``?size=`` bytes, by default the size of a school-health response of one term)."""

    permission_classes = [IsAdminOrOperator]

    def get(self, request):
        try:
            size = min(max(int(request.query_params.get("size", 0)), 0), MAX_FLOOR_SIZE)
        except ValueError:
            raise ValidationError({"size": "A whole number of bytes."}) from None
        return Response(floor_payload(size))


class SchoolHealthReferenceApi(APIView):
    """School health of one school (``?school=ID``, current term) aggregated from the raw tables on each request."""

    permission_classes = [IsAdminOrOperator]

    def get(self, request):
        schools = in_users_school(School.objects.order_by("id"), user=request.user, school_field="pk")
        school = get_object_or_404(schools, pk=request.query_params.get("school"))
        term = selectors.current_term(school=school)
        date_from, date_to = selectors.health_period(schools=[school], term=term)
        data = school_health_reference(school=school, term=term, date_from=date_from, date_to=date_to)
        return Response(SchoolHealthSerializer(data).data)


urlpatterns = [
    path("bench/floor/", FloorApi.as_view(), name="bench-floor"),
    path("bench/reference/school-health/", SchoolHealthReferenceApi.as_view(), name="bench-reference-school-health"),
    *product_urlpatterns,
]
