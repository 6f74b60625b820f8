"""DRF permissions by role (see schools.selectors.user_role). Combine them with `|`, e.g. `ReadOnly | IsTeacher`.

They answer "may this kind of user call this endpoint at all" (403 when not); which objects they reach is the
scope selectors' business (404 outside it). Anonymous users get 401 before any of these is asked.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from schools.selectors import Role, user_role


class HasRole(BasePermission):
    roles: frozenset[Role] = frozenset()

    def has_permission(self, request, view) -> bool:
        return user_role(user=request.user).role in self.roles


class IsSchoolAdmin(HasRole):
    """An admin of a school, or a district operator (who administers every school)."""

    roles = frozenset({Role.SCHOOL_ADMIN, Role.DISTRICT_OPERATOR})


class IsTeacher(HasRole):
    roles = frozenset({Role.TEACHER})


class IsTeacherOrAdmin(HasRole):
    roles = frozenset({Role.TEACHER, Role.SCHOOL_ADMIN, Role.DISTRICT_OPERATOR})


class IsStudent(HasRole):
    roles = frozenset({Role.STUDENT})


class ReadOnly(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS
