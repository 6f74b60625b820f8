import pytest

# The small school worked out by hand for the API's content tests: the pages must show the same figures.
from analytics.tests.test_api_content import frozen, hillcrest  # noqa: F401
from tests.factories import UserFactory


@pytest.fixture
def ann_user(hillcrest):  # noqa: F811
    """Ann signs in as a student."""
    hillcrest.ann.user = UserFactory(first_name="Ann", last_name="Abara")
    hillcrest.ann.save(update_fields=["user"])
    return hillcrest.ann.user
