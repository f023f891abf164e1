"""The one error type services raise when a rule refuses a request (shared by every app)."""


class ServiceError(Exception):
    """A rule refused the request; the message is written for the person who asked."""

    def __init__(self, message: str, *, code: str = "invalid", problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.problems = problems or []  # itemised reasons, when there are several
