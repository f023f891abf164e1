"""Error pages that say what happened, in the site's layout; the health check; the icon."""

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe


@require_safe
def healthz(request):
    """The load balancer's health check: `ok`, with no login, no database query and no template.

    It is also the benchmark's bare Django view (`manage.py bench_pages`): a few bytes through
    the full middleware stack, the ceiling every page is compared with.
    """
    return HttpResponse("ok", content_type="text/plain")


@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links: send them to the site's icon.

    A temporary redirect: the static file's name carries its hash in production, so it changes
    with every new icon.
    """
    return HttpResponseRedirect(static("favicon.svg"))


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
