"""The one error type services raise when a rule refuses a request (shared by every app)."""

from django.utils.html import conditional_escape, format_html, format_html_join


class ServiceError(Exception):
    """A rule refused the request; the message is written for the person who asked."""

    def __init__(self, message: str, *, code: str = "invalid", problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.problems = problems or []  # itemised reasons, when there are several


def error_html(error: ServiceError):
    """The refusal as HTML for a message or a form error: its message, or, when it itemises its
    problems and says what leads them (`summary`), that sentence and the problems as a list."""
    summary = getattr(error, "summary", "")
    if not (error.problems and summary):
        return conditional_escape(error.message)
    items = format_html_join("", "<li>{}</li>", ((problem,) for problem in error.problems))
    return format_html('{}<ul class="problem-list">{}</ul>', summary, items)
