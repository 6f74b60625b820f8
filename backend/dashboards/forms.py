"""Forms of the pages: query selectors (term, subject) and the teacher inputs, validated like the API's."""

from django import forms
from django.forms.models import ModelChoiceIterator

from analytics import services
from schools.models import AcademicTerm, Student, Subject


class ListedChoiceIterator(ModelChoiceIterator):
    """The field's choices read with one query per form and kept, not a server-side cursor each time the choices
    are iterated (the select's rendering iterates them, and so does its probe of the first choice); or, when the
    field has ``listed``, the choices from that list (the same rows read already for another form of the page)."""

    def objects(self):
        # The field's own queryset: evaluated once, then its result cache.
        return self.queryset if self.field.listed is None else self.field.listed

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.objects():
            yield self.choice(obj)

    def __len__(self):
        return (self.field.empty_label is not None) + len(self.objects())

    def __bool__(self):
        return self.field.empty_label is not None or bool(self.objects())


class ListedChoiceField(forms.ModelChoiceField):
    """``listed``: the choices as a list of the queryset's rows, when the page has read them already; the
    queryset still validates what is posted."""

    iterator = ListedChoiceIterator
    listed: list | None = None


class TermChoiceField(ListedChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class TermsMixin:
    def school_terms(self) -> list[AcademicTerm]:
        """The school's terms, read once: the term choices render from the same list (``current_term(terms=)``
        takes it too)."""
        field = self.fields["term"]
        return list(field.queryset) if field.listed is None else field.listed

    def terms_listed(self, terms: list[AcademicTerm] | None) -> None:
        """``terms``: every term of the school, read already with the page's object: the choices, newest first as
        the queryset orders them, without a query of their own (a posted term is still checked by the queryset)."""
        if terms is not None:
            self.fields["term"].listed = sorted(terms, key=lambda term: term.start_date, reverse=True)


class ReportQueryForm(TermsMixin, forms.Form):
    """Which term and subject a report shows; only the student's school's terms and subjects are choices."""

    term = TermChoiceField(queryset=AcademicTerm.objects.none(), required=False, empty_label=None)
    subject = ListedChoiceField(queryset=Subject.objects.none(), required=False, empty_label="All subjects")

    def __init__(self, *args, school, terms: list[AcademicTerm] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term"].queryset = AcademicTerm.objects.filter(school=school).order_by("-start_date")
        self.fields["subject"].queryset = Subject.objects.filter(school=school).order_by("name")
        self.terms_listed(terms)

    def school_subjects(self) -> list[Subject]:
        """The school's subjects by name, read once: the subject choices render from the same list."""
        return list(self.fields["subject"].queryset)


class TermQueryForm(TermsMixin, forms.Form):
    term = TermChoiceField(queryset=AcademicTerm.objects.none(), required=False, empty_label=None)

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term"].queryset = AcademicTerm.objects.filter(school=school).order_by("-start_date")


class SchoolHealthQueryForm(TermQueryForm):
    """School health's query: the term, and which page of each long list: the students at risk and those below
    90% attendance (50 a page, as the API's JSON lists), the teachers' missing data and the classes compared (20 a
    page)."""

    at_risk_page = forms.IntegerField(required=False, min_value=1)
    below_page = forms.IntegerField(required=False, min_value=1)
    missing_page = forms.IntegerField(required=False, min_value=1)
    classes_page = forms.IntegerField(required=False, min_value=1)


class BehaviourScoreForm(forms.Form):
    """A day's behaviour score, written by ``analytics.services.behavior_score_set`` like the API's."""

    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    score = forms.IntegerField(required=False, help_text="Empty clears the day's score.")

    def __init__(self, *args, student: Student, **kwargs):
        super().__init__(*args, prefix="behaviour", **kwargs)
        self.student = student
        school = student.school
        self.fields["score"].widget.attrs.update(min=school.behavior_score_min, max=school.behavior_score_max)
        self.fields["score"].label = f"Score ({school.behavior_score_min} to {school.behavior_score_max})"

    def clean_score(self):
        score = self.cleaned_data["score"]
        problem = services.behavior_score_problem(school=self.student.school, score=score)
        if problem:
            raise forms.ValidationError(problem)
        return score

    def save(self):
        return services.behavior_score_set(
            student=self.student, day=self.cleaned_data["date"], score=self.cleaned_data["score"]
        )


class TeacherCommentForm(forms.Form):
    """The teacher's comment on the student's term in a subject, written by ``teacher_comment_set``."""

    subject = ListedChoiceField(queryset=Subject.objects.none())
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000, help_text="Empty clears it."
    )

    def __init__(self, *args, student: Student, term: AcademicTerm, subjects, listed: list | None = None, **kwargs):
        """``subjects``: those the user may comment on (``subjects_commentable_by``); ``listed``: the same subjects
        as a list when the page has read them already (the choices then, no query)."""
        super().__init__(*args, prefix="comment", **kwargs)
        self.student, self.term = student, term
        self.fields["subject"].queryset = subjects
        self.fields["subject"].listed = listed

    def save(self):
        return services.teacher_comment_set(
            student=self.student,
            term=self.term,
            subject=self.cleaned_data["subject"],
            comment=self.cleaned_data["comment"],
        )
