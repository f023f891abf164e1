"""The audit actions reviews writes, in words (registered with plans.audit_actions at app ready)."""

REVIEW_AUDIT_ACTIONS = {
    "submitted_for_review": "Submitted for review",
    "reconfirmation_submitted": "Submitted for re-confirmation",
    "review_withdrawn": "Review withdrawn",
    "review_approved": "Reviewer approved",
    "changes_requested": "Changes requested",
    "plan_approved": "Plan approved",
    "plan_archived": "Plan archived",
    "plan_restored": "Plan restored from the archive",
    "distribution_changed": "Distribution list changed",
    "ack_links_sent": "Acknowledgement links sent",
    "ack_reminders_sent": "Acknowledgement reminders sent",
    "ack_recorded": "Acknowledgement recorded",
    "kpi_report_requested": "KPI report requested",
    "evidence_pack_requested": "Evidence pack requested",
    "report_downloaded": "Report downloaded",
}
