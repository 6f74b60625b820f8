"""Report-card downloads and bulk jobs: thin views over reportcards.selectors and reportcards.services.

Who reaches what is the shared scope (schools.selectors): a card is reachable for a student the user may see
(guardian: their children; teacher: their classes; admin: their school; superuser: all), anything else is 404.
"""

from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from reportcards import selectors, services
from reportcards.models import ReportCardJob
from schools.models import AcademicTerm
from schools.permissions import IsTeacherOrAdmin
from schools.selectors import students_visible_to


class DocumentView(APIView):
    """A view answering with a document (HTML or PDF) rather than JSON; errors are still JSON."""

    permission_classes = [IsAuthenticated]
    # A card costs a fraction of a second of rendering: the analytics endpoints' rate limit applies.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "analytics"

    def perform_content_negotiation(self, request, force=False):
        # The document is the answer whatever the client accepts (a browser, a PDF reader).
        return super().perform_content_negotiation(request, force=True)

    def card_scope(self, request, student_id: int, term_id: int):
        student = get_object_or_404(
            students_visible_to(user=request.user).select_related("school", "class_group"), pk=student_id
        )
        term = get_object_or_404(AcademicTerm.objects.filter(school_id=student.school_id), pk=term_id)
        return student, term


class ReportCardPage(DocumentView):
    """The card as a page: the same template as the PDF, with a print stylesheet and a download link."""

    def handle_exception(self, exc):
        if isinstance(exc, NotAuthenticated):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)

    @extend_schema(exclude=True)
    def get(self, request, student_id: int, term_id: int):
        student, term = self.card_scope(request, student_id, term_id)
        card = selectors.report_card_data(student=student, term=term)
        pdf_url = reverse("report-card-pdf", kwargs={"student_id": student.pk, "term_id": term.pk})
        return HttpResponse(services.cards_html(cards=[card], title=services.card_title(card), pdf_url=pdf_url))


class ReportCardPdf(DocumentView):
    @extend_schema(
        summary="A student's term report card as PDF",
        description="Guardian: their children; teacher: students of their classes; admin: their school; "
        "superuser: all. Any other student, or a term of another school, is 404.",
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF.")},
    )
    def get(self, request, student_id: int, term_id: int):
        student, term = self.card_scope(request, student_id, term_id)
        pdf = services.card_pdf(student=student, term=term)
        name = services.file_stem("report-card", student.full_name, student.student_number, term.name) + ".pdf"
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# --- bulk jobs ------------------------------------------------------------------------------------


class JobRequestSerializer(serializers.Serializer):
    term = serializers.IntegerField(min_value=1, help_text="The term (id).")
    class_group = serializers.IntegerField(
        required=False, min_value=1, help_text="A class (id): its cards as one PDF. Without it, `school`."
    )
    school = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="A school (id): its cards as a zip of class PDFs (admins; an admin's own school by default).",
    )

    def validate(self, attrs):
        user = self.context["user"]
        if "class_group" in attrs:
            class_group = selectors.class_groups_printable_by(user=user).filter(pk=attrs["class_group"]).first()
            if class_group is None:
                raise serializers.ValidationError({"class_group": "No such class among the classes you may print."})
            if "school" in attrs and attrs["school"] != class_group.school_id:
                raise serializers.ValidationError({"school": "The class belongs to another school."})
            attrs["class_group"], attrs["school"] = class_group, class_group.school
        else:
            schools = selectors.schools_printable_by(user=user)
            if "school" in attrs:
                school = schools.filter(pk=attrs["school"]).first()
            else:
                school = schools.first() if schools.count() == 1 else None
            if school is None:
                field = "school" if "school" in attrs or schools.exists() else "class_group"
                message = {
                    "school": "No such school among the schools you may print.",
                    "class_group": "A teacher prints the cards of a class they teach: give class_group.",
                }[field]
                raise serializers.ValidationError({field: message})
            attrs["class_group"], attrs["school"] = None, school
        attrs["term"] = AcademicTerm.objects.filter(pk=attrs["term"], school=attrs["school"]).first()
        if attrs["term"] is None:
            raise serializers.ValidationError({"term": "No such term at this school."})
        return attrs


class JobSerializer(serializers.ModelSerializer):
    school = serializers.IntegerField(source="school_id")
    term = serializers.IntegerField(source="term_id")
    class_group = serializers.IntegerField(source="class_group_id", allow_null=True)
    download_url = serializers.SerializerMethodField(help_text="Where to fetch the file once the job succeeded.")

    class Meta:
        model = ReportCardJob
        fields = [
            "id",
            "school",
            "term",
            "class_group",
            "status",
            "done",
            "total",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "download_url",
        ]

    def get_download_url(self, job) -> str | None:
        if job.status != ReportCardJob.Status.SUCCEEDED or not job.file_name:
            return None
        path = reverse("report-card-job-download", kwargs={"job_id": job.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class JobListApi(APIView):
    permission_classes = [IsTeacherOrAdmin]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "analytics"

    @extend_schema(
        summary="Start the report cards of a class (one PDF) or of a school (a zip of class PDFs)",
        description="Runs in the background (inline when no broker is configured); poll the job for progress "
        "and its download_url. A teacher prints the classes they teach, an admin any class or the whole of "
        "their school.",
        request=JobRequestSerializer,
        responses={202: JobSerializer},
    )
    def post(self, request):
        payload = JobRequestSerializer(data=request.data, context={"user": request.user})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        job = services.report_card_job_start(
            user=request.user, school=data["school"], term=data["term"], class_group=data["class_group"]
        )
        job.refresh_from_db()  # without a broker the job has run by now
        return Response(JobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class JobDetailApi(APIView):
    permission_classes = [IsTeacherOrAdmin]

    @extend_schema(
        summary="A report-card job: status, progress (done of total) and, when done, its download_url",
        responses=JobSerializer,
    )
    def get(self, request, job_id: int) -> Response:
        job = get_object_or_404(selectors.jobs_visible_to(user=request.user), pk=job_id)
        return Response(JobSerializer(job, context={"request": request}).data)


class JobDownloadApi(DocumentView):
    permission_classes = [IsTeacherOrAdmin]

    @extend_schema(
        summary="The file of a finished report-card job (a PDF, or a zip of PDFs)",
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="A class's cards."),
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="A school's class PDFs."),
            (409, "application/json"): OpenApiResponse(description="The job has not succeeded (yet)."),
        },
    )
    def get(self, request, job_id: int):
        job = get_object_or_404(selectors.jobs_visible_to(user=request.user), pk=job_id)
        path = services.job_file(job)
        if path is None:
            return Response(
                {"detail": f"The job has no file to download (status {job.status}).", "status": job.status},
                status=status.HTTP_409_CONFLICT,
            )
        content_type = "application/zip" if path.suffix == ".zip" else "application/pdf"
        return FileResponse(path.open("rb"), as_attachment=True, filename=path.name, content_type=content_type)
