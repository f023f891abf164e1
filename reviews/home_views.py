"""The home page: what needs me (reviews.attention)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .attention import home_lists, request_attention


@login_required
@require_GET
def home(request):
    """Reviews waiting for me, my plans that need something, my outstanding acknowledgements.

    Queries: the counts (shared with the navigation) and one per non-empty list, whatever the
    size of the organisation.
    """
    counts = request_attention(request)
    return render(request, "reviews/home.html", {"counts": counts, **home_lists(request.user, counts)})
