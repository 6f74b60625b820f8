"""The soak clients' pieces that need no server: reading the admin's form, outcomes, roles."""

from benchmarks.soak_clients import ACKNOWLEDGED, REFUSED, ROLES, UNKNOWN, form_fields, outcome_of

CHANGE_FORM = """
<form id="searchbar"><input name="q" value="ignored"></form>
<form enctype="multipart/form-data" method="post" id="homework_form" novalidate>
  <input type="hidden" name="csrfmiddlewaretoken" value="tok&amp;en">
  <select name="class_group" id="id_class_group">
    <option value="">---------</option>
    <option value="4" selected>Form 1A</option>
  </select>
  <input type="text" name="title" value="Fractions &lt;1&gt;" maxlength="200" required id="id_title">
  <textarea name="description" cols="40" rows="10" id="id_description">
Line one
line two</textarea>
  <input type="number" name="max_score" value="20.00" step="0.01" required id="id_max_score">
  <input type="checkbox" name="archived" id="id_archived">
  <input type="checkbox" name="visible" checked id="id_visible">
  <input type="text" name="locked" value="x" disabled>
  <input type="submit" value="Save" class="default" name="_save">
  <input type="submit" value="Save and continue editing" name="_continue">
</form>
"""


def test_form_fields_are_what_a_browser_submits():
    assert form_fields(CHANGE_FORM, form_id="homework_form") == [
        ("csrfmiddlewaretoken", "tok&en"),
        ("class_group", "4"),
        ("title", "Fractions <1>"),
        ("description", "Line one\nline two"),  # the newline after <textarea> is not part of the value
        ("max_score", "20.00"),
        ("visible", "on"),
    ]
    assert form_fields(CHANGE_FORM, form_id="no-such-form") == []


def test_outcomes():
    assert outcome_of(200, success=(200,)) == ACKNOWLEDGED
    assert outcome_of(201, success=(200, 201)) == ACKNOWLEDGED
    assert outcome_of(400, success=(200,)) == REFUSED
    assert outcome_of(500, success=(200,)) == REFUSED  # the server rolled the request back
    assert outcome_of(302, success=(200,)) == REFUSED
    assert outcome_of("RemoteDisconnected", success=(200,)) == UNKNOWN


def test_eight_clients_have_every_role_and_two_call_the_same_rolls():
    assert len(ROLES) == 8
    assert set(ROLES) == {"roll-call", "grades", "office", "payments", "teacher-input", "reader"}
    assert ROLES.count("roll-call") == 2
    assert ROLES.count("grades") == 2
