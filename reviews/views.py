from django.contrib.auth.decorators import login_required
from django.http import Http404


@login_required
def review_detail(request, pk):
    raise Http404("Reviews are not available yet.")
