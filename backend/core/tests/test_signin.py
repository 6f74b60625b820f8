"""Sign-in limits: failed passwords counted per account and per address, in the shared cache, on every sign-in.

Limits of these tests: 5 failures per account, 100 per address, a 900-second window (the defaults), unless a
test sets others. Time is frozen, so each Retry-After is worked out from the first failure of its window.
"""

import pytest
from django.core.cache import caches
from django.test import RequestFactory

from core import services
from core.services import SignInLocked, signin_address, signin_authenticate
from tests import factories

pytestmark = pytest.mark.django_db

T0 = "2026-10-14 08:00:00+00:00"
TOKEN = "/api/auth/token/"
API_LOGIN = "/api/auth/login/"
ADMIN_LOGIN = "/admin/login/"
LOCKED_FORM_ERROR = "Too many failed sign-ins. Try again in"


@pytest.fixture(autouse=True)
def limits(settings, time_machine):
    time_machine.move_to(T0, tick=False)
    settings.SIGNIN_ACCOUNT_FAILURE_LIMIT = 5
    settings.SIGNIN_ADDRESS_FAILURE_LIMIT = 100
    settings.SIGNIN_WINDOW_SECONDS = 900
    settings.SIGNIN_TRUSTED_PROXIES = 0


@pytest.fixture
def office():
    return factories.UserFactory(username="office")


def token(client, username, password, address="10.0.0.1"):
    return client.post(TOKEN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_wrong_passwords_beyond_the_limit_lock_the_account_the_right_one_too(api_client, office):
    wrong = [token(api_client, "office", f"guess-{n}").status_code for n in range(5)]
    locked = token(api_client, "office", "pass-1234")

    assert wrong == [400] * 5
    assert locked.status_code == 429
    assert locked["Retry-After"] == "900"
    assert "Too many failed sign-ins" in locked.data["detail"]
    assert "token" not in locked.data


def test_the_lock_ends_with_the_window_counted_from_the_first_failure(api_client, office, time_machine):
    token(api_client, "office", "guess")
    time_machine.move_to("2026-10-14 08:10:00+00:00", tick=False)
    for _ in range(4):
        token(api_client, "office", "guess")

    at_ten_minutes = token(api_client, "office", "pass-1234")
    time_machine.move_to("2026-10-14 08:14:59+00:00", tick=False)
    at_last_second = token(api_client, "office", "pass-1234")
    time_machine.move_to("2026-10-14 08:15:00+00:00", tick=False)
    after = token(api_client, "office", "pass-1234")

    assert (at_ten_minutes.status_code, at_ten_minutes["Retry-After"]) == (429, "300")
    assert (at_last_second.status_code, at_last_second["Retry-After"]) == (429, "1")
    assert after.status_code == 200
    assert after.data["token"]


def test_a_successful_sign_in_clears_the_accounts_failures(api_client, office):
    first = [token(api_client, "office", "guess").status_code for _ in range(4)]
    success = token(api_client, "office", "pass-1234")
    second = [token(api_client, "office", "guess").status_code for _ in range(5)]
    locked = token(api_client, "office", "pass-1234")

    assert first == [400] * 4
    assert success.status_code == 200
    assert second == [400] * 5  # five more before the lock: the first four were forgotten
    assert locked.status_code == 429


def test_the_account_limit_holds_across_addresses_and_letter_case(api_client, office):
    for n, name in enumerate(("office", "Office", "OFFICE", "office", "oFFice")):
        assert token(api_client, name, "guess", address=f"192.0.2.{n}").status_code == 400

    locked = token(api_client, "office", "pass-1234", address="198.51.100.7")

    assert locked.status_code == 429


def test_one_locked_account_does_not_lock_another(api_client, office):
    other = factories.UserFactory(username="bursar")
    for _ in range(6):
        token(api_client, "office", "guess")

    assert token(api_client, other.username, "pass-1234").status_code == 200


def test_the_address_limit_counts_failures_over_every_account(api_client, settings):
    settings.SIGNIN_ADDRESS_FAILURE_LIMIT = 3
    users = [factories.UserFactory() for _ in range(4)]

    wrong = [token(api_client, user.username, "guess", address="203.0.113.9").status_code for user in users[:3]]
    from_there = token(api_client, users[3].username, "pass-1234", address="203.0.113.9")
    from_elsewhere = token(api_client, users[3].username, "pass-1234", address="203.0.113.10")

    assert wrong == [400] * 3
    assert (from_there.status_code, from_there["Retry-After"]) == (429, "900")
    assert from_elsewhere.status_code == 200


def test_successful_sign_ins_do_not_count_against_the_address(api_client, settings):
    """A school signs in from one address: its hundreds of right passwords must not lock it out."""
    settings.SIGNIN_ADDRESS_FAILURE_LIMIT = 3
    users = [factories.UserFactory() for _ in range(6)]

    successes = [token(api_client, user.username, "pass-1234").status_code for user in users]
    failures = [token(api_client, user.username, "guess").status_code for user in users[:3]]
    after = token(api_client, users[5].username, "pass-1234")

    assert successes == [200] * 6
    assert failures == [400] * 3
    assert after.status_code == 429


def test_the_counts_last_the_whole_window(api_client, settings, time_machine):
    """Longer than the cache's default timeout (300 s), through every increment and every give-back."""
    settings.SIGNIN_ADDRESS_FAILURE_LIMIT = 3
    users = [factories.UserFactory() for _ in range(5)]

    first = token(api_client, users[0].username, "guess")
    time_machine.move_to("2026-10-14 08:06:40+00:00", tick=False)
    second = token(api_client, users[1].username, "guess")
    success = token(api_client, users[2].username, "pass-1234")
    time_machine.move_to("2026-10-14 08:13:20+00:00", tick=False)
    third = token(api_client, users[3].username, "guess")
    locked = token(api_client, users[4].username, "pass-1234")

    assert [first.status_code, second.status_code, success.status_code, third.status_code] == [400, 400, 200, 400]
    assert (locked.status_code, locked["Retry-After"]) == (429, "100")


def test_refused_attempts_are_not_counted(api_client, settings):
    """Pressing "sign in" again on a locked account does not use up the address's allowance."""
    settings.SIGNIN_ACCOUNT_FAILURE_LIMIT = 2
    settings.SIGNIN_ADDRESS_FAILURE_LIMIT = 3
    factories.UserFactory(username="office")
    bursar = factories.UserFactory(username="bursar")

    office = [token(api_client, "office", "guess").status_code for _ in range(7)]
    bursar_wrong = token(api_client, bursar.username, "guess")
    bursar_right = token(api_client, bursar.username, "pass-1234")

    assert office == [400, 400, 429, 429, 429, 429, 429]
    assert bursar_wrong.status_code == 400  # the address's third failure, not its eighth
    assert bursar_right.status_code == 429  # and that was its last


def test_unknown_usernames_are_limited_alike(api_client):
    """An unknown name is locked like a real one: the lock tells nothing about which accounts exist."""
    statuses = [token(api_client, "nobody", "guess").status_code for _ in range(6)]

    assert statuses == [400] * 5 + [429]


def test_missing_fields_are_400_and_not_counted(api_client, office):
    for _ in range(6):
        assert api_client.post(TOKEN, {"username": "office"}).status_code == 400

    assert token(api_client, "office", "pass-1234").status_code == 200


def test_the_attempt_is_counted_before_the_password_is_checked(monkeypatch, office):
    """Attempts sent together cannot all pass the check before the first failure is counted."""
    seen = []

    def authenticate(request, **credentials):
        seen.append(services._signin_counters(username="office", address="10.0.0.1")[0].count(services.time.time())[0])

    monkeypatch.setattr(services, "authenticate", authenticate)
    request = RequestFactory().post(TOKEN, REMOTE_ADDR="10.0.0.1")

    for _ in range(3):
        signin_authenticate(request=request, username="office", password="guess")

    assert seen == [1, 2, 3]


def test_attempts_over_the_limit_at_the_same_time_are_refused_and_given_back(monkeypatch, office, settings):
    """Two attempts for the last allowed one: the second to count itself is refused and takes its count back."""
    settings.SIGNIN_ACCOUNT_FAILURE_LIMIT = 2
    request = RequestFactory().post(TOKEN, REMOTE_ADDR="10.0.0.1")
    account, origin = services._signin_counters(username="office", address="10.0.0.1")
    now = services.time.time()
    signin_authenticate(request=request, username="office", password="guess")
    real_count = services._FailureCounter.count
    # The other attempt counts itself after this one found one failure and before this one counts itself.
    racing = iter([True])

    def count_then_race(counter, at):
        result = real_count(counter, at)
        if counter.name == account.name and next(racing, False):
            account.add(at)
        return result

    monkeypatch.setattr(services._FailureCounter, "count", count_then_race)

    with pytest.raises(SignInLocked) as refused:
        signin_authenticate(request=request, username="office", password="pass-1234")

    assert refused.value.retry_after == 900
    assert account.count(now)[0] == 2  # the first failure and the racing attempt; this one gave its count back
    assert origin.count(now)[0] == 1


def test_failure_counts_live_in_the_shared_cache(monkeypatch, api_client, office):
    """Another worker (a cache client of its own, no memory shared with this one) sees the same lock."""
    for _ in range(5):
        token(api_client, "office", "guess")

    other_worker_cache = caches.create_connection("default")
    monkeypatch.setattr(services, "cache", other_worker_cache)

    assert token(api_client, "office", "pass-1234").status_code == 429


def test_the_api_login_page_shows_the_lock_as_a_form_error(client, office):
    wrong = [client.post(API_LOGIN, {"username": "office", "password": "guess"}) for _ in range(5)]
    locked = client.post(API_LOGIN, {"username": "office", "password": "pass-1234"})

    assert [response.status_code for response in wrong] == [200] * 5
    assert all(LOCKED_FORM_ERROR not in response.content.decode() for response in wrong)
    assert locked.status_code == 200
    assert f"{LOCKED_FORM_ERROR} 15 minutes." in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_api_login_page_signs_in_below_the_limit(client, office):
    for _ in range(4):
        client.post(API_LOGIN, {"username": "office", "password": "guess"})

    response = client.post(API_LOGIN, {"username": "office", "password": "pass-1234"})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(office.pk)


def test_the_admin_login_is_limited_too(client, time_machine):
    staff = factories.UserFactory(username="operator", is_staff=True, is_superuser=True)
    wrong = [client.post(ADMIN_LOGIN, {"username": "operator", "password": "guess"}) for _ in range(5)]
    locked = client.post(ADMIN_LOGIN, {"username": "operator", "password": "pass-1234"})
    time_machine.move_to("2026-10-14 08:15:00+00:00", tick=False)
    after = client.post(ADMIN_LOGIN, {"username": "operator", "password": "pass-1234"})

    assert [response.status_code for response in wrong] == [200] * 5
    assert all(LOCKED_FORM_ERROR not in response.content.decode() for response in wrong)
    assert locked.status_code == 200
    assert f"{LOCKED_FORM_ERROR} 15 minutes." in locked.content.decode()
    assert after.status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_the_form_error_names_the_minutes_left(client, office, time_machine):
    for _ in range(5):
        client.post(API_LOGIN, {"username": "office", "password": "guess"})

    time_machine.move_to("2026-10-14 08:13:30+00:00", tick=False)
    ninety_seconds = client.post(API_LOGIN, {"username": "office", "password": "pass-1234"}).content.decode()
    time_machine.move_to("2026-10-14 08:14:30+00:00", tick=False)
    thirty_seconds = client.post(API_LOGIN, {"username": "office", "password": "pass-1234"}).content.decode()

    assert f"{LOCKED_FORM_ERROR} 2 minutes." in ninety_seconds
    assert f"{LOCKED_FORM_ERROR} 1 minute." in thirty_seconds


def test_failures_anywhere_count_for_every_sign_in(client, api_client, office):
    for _ in range(2):
        token(api_client, "office", "guess", address="127.0.0.1")
    for _ in range(3):
        client.post(API_LOGIN, {"username": "office", "password": "guess"})

    locked = client.post(ADMIN_LOGIN, {"username": "office", "password": "pass-1234"})

    assert f"{LOCKED_FORM_ERROR} 15 minutes." in locked.content.decode()


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "192.0.2.1", "", "192.0.2.1"),
        (0, "192.0.2.1", "198.51.100.1", "192.0.2.1"),  # no proxy trusted: the header is the client's word
        (1, "127.0.0.1", "198.51.100.1", "198.51.100.1"),
        (1, "127.0.0.1", "10.9.9.9, 198.51.100.1", "198.51.100.1"),  # a made-up entry in front is ignored
        (2, "127.0.0.1", "10.9.9.9, 198.51.100.1, 203.0.113.5", "198.51.100.1"),
        (2, "127.0.0.1", "198.51.100.1", "198.51.100.1"),
        (1, "127.0.0.1", "", "127.0.0.1"),
        (0, "2001:db8:1:2:aaaa::1", "", "2001:db8:1:2::/64"),
        (0, "2001:db8:1:2:bbbb::9", "", "2001:db8:1:2::/64"),
        (0, "::ffff:192.0.2.7", "", "192.0.2.7"),
    ],
)
def test_the_address_counted(settings, proxies, remote, forwarded, expected):
    settings.SIGNIN_TRUSTED_PROXIES = proxies
    request = RequestFactory().post(TOKEN, REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert signin_address(request) == expected
