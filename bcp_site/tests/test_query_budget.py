"""The query budget every page shares: navigation counts and home-page figures.

Pages pin their own query counts (with small and large data in one test) next to the
page's tests. What every page shows around its content (the navigation: later, counts
such as "3 reviews waiting" and the home page's figures) may cost at most
`NAVIGATION_QUERY_BUDGET` queries per page in total, whatever the size of the
organisation. A count added to the navigation has to fit here, or replace another.
"""

import pytest
from django.contrib.auth.context_processors import PermWrapper
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from bcp_site.testing import make_plan, make_user

NAVIGATION_QUERY_BUDGET = 2


def _navigation_queries(user) -> int:
    """Queries run while rendering the navigation for `user`, once the request's permissions are loaded."""
    request = RequestFactory().get("/")
    request.user = user
    user.get_all_permissions()  # every page's view already asked: Django caches them on the user
    with CaptureQueriesContext(connection) as queries:
        html = render_to_string("includes/nav.html", {"user": user, "perms": PermWrapper(user)}, request=request)
    assert "Log out" in html
    return len(queries)


@pytest.mark.django_db
def test_navigation_stays_within_its_query_budget_at_any_size(org, template, reviewer):
    editor = make_user(org, username="nav-editor", groups=["BCP Editor"])
    small = {role: _navigation_queries(user) for role, user in {"editor": editor, "reviewer": reviewer}.items()}

    for n in range(40):  # a bigger organisation: more people, more plans
        member = make_user(org, username=f"nav-member-{n}")
        make_plan(org=org, template=template, owner=member, title=f"Plan {n}")
    large = {role: _navigation_queries(user) for role, user in {"editor": editor, "reviewer": reviewer}.items()}

    assert large == small, "the navigation's cost grew with the organisation"
    assert max(large.values()) <= NAVIGATION_QUERY_BUDGET
