"""Error pages that say what happened, in the site's layout."""

from django.shortcuts import render


def _error(request, status: int, title: str, exception=None):
    message = str(exception) if exception and str(exception) and not str(exception).startswith("<") else ""
    return render(request, "error.html", {"status": status, "title": title, "message": message}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, "Bad request", exception)


def permission_denied(request, exception=None):
    return _error(request, 403, "You do not have permission to do this", exception)


def page_not_found(request, exception=None):
    return _error(request, 404, "Not found", exception)


def server_error(request):
    return render(request, "error.html", {"status": 500, "title": "Something went wrong"}, status=500)
