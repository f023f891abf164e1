from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from .models import Plan
from .selectors import get_plan_for_user


@login_required
def plan_list(request):
    plans = Plan.objects.visible_to(request.user).select_related("owner_user")[:50]
    return render(request, "plans/plan_list.html", {"plans": plans})


@login_required
def plan_detail(request, pk):
    plan = get_plan_for_user(request.user, pk)
    return render(request, "plans/plan_detail.html", {"plan": plan})


@login_required
def version_detail(request, pk, number):
    plan = get_plan_for_user(request.user, pk)
    version = get_object_or_404(plan.versions, version_number=number)
    return render(request, "plans/version_detail.html", {"plan": plan, "version": version})
