"""Sign-in endpoints: an API token for a username and password, within the sign-in limits."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import parsers, renderers, serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.views import APIView

from core.services import SignInLocked, signin_authenticate, token_issue


class SignInTokenSerializer(AuthTokenSerializer):
    def validate(self, attrs):
        try:
            user = signin_authenticate(
                request=self.context["request"], username=attrs["username"], password=attrs["password"]
            )
        except SignInLocked as locked:
            raise Throttled(wait=locked.retry_after, detail="Too many failed sign-ins.") from None
        if user is None:
            raise serializers.ValidationError("Unable to log in with provided credentials.", code="authorization")
        attrs["user"] = user
        return attrs


class TokenObtainApi(APIView):
    """POST a username and password: the user's API token (a new one once the old one has expired)."""

    # Signing in never depends on credentials already sent (an expired token must not stop it).
    authentication_classes = ()
    permission_classes = ()
    parser_classes = (parsers.FormParser, parsers.MultiPartParser, parsers.JSONParser)
    renderer_classes = (renderers.JSONRenderer,)

    @extend_schema(
        request=SignInTokenSerializer,
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField()}),
            400: OpenApiResponse(description="Wrong username or password, or a field missing."),
            429: OpenApiResponse(description="Too many failed sign-ins (Retry-After: seconds)."),
        },
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        serializer = SignInTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        return Response({"token": token_issue(user=serializer.validated_data["user"]).key})
