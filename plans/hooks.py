"""Hooks through which higher apps add to the plan page without `plans` importing them.

Dependencies run reviews -> plans -> templates_app, so the plan page (`plans.views.plan_detail`)
cannot ask `reviews` for its workflow answers; `reviews` registers a provider in its
`AppConfig.ready()`, and the page merges what the providers return into its context, once per
request, so the templates only read precomputed answers.
"""

from __future__ import annotations

from collections.abc import Callable

PlanPageProvider = Callable[..., dict]

_plan_page_providers: list[PlanPageProvider] = []


def register_plan_page_context(provider: PlanPageProvider) -> None:
    """Add `provider(request=..., plan=...) -> dict` to the plan page's context (once)."""
    if provider not in _plan_page_providers:
        _plan_page_providers.append(provider)


def plan_page_context(*, request, plan) -> dict:
    """What the registered providers add to the plan page for this request."""
    context: dict = {}
    for provider in _plan_page_providers:
        context.update(provider(request=request, plan=plan))
    return context
