"""Fixtures for the templates feature tests: a section using every field type."""

import pytest

ALL_TYPES_SECTION = {
    "key": "everything",
    "title": "Every field type",
    "order": 1,
    "help": "",
    "fields": [
        {"key": "title", "label": "Title", "type": "text", "required": True, "max_length": 20, "help": ""},
        {"key": "code", "label": "Code", "type": "text", "required": False, "pattern": "[A-Z]{3}-[0-9]+",
         "help": "Like ABC-12"},
        {"key": "notes", "label": "Notes", "type": "textarea", "required": False, "help": ""},
        {"key": "staff", "label": "Staff", "type": "integer", "required": False, "min": 0, "max": 500, "help": ""},
        {"key": "budget", "label": "Budget", "type": "decimal", "required": False, "min": 0, "decimal_places": 2,
         "help": ""},
        {"key": "review_on", "label": "Review on", "type": "date", "required": False, "help": ""},
        {"key": "tested_at", "label": "Tested at", "type": "datetime", "required": False, "help": ""},
        {"key": "offsite", "label": "Backups offsite", "type": "boolean", "required": False, "help": ""},
        {"key": "cadence", "label": "Cadence", "type": "select", "required": True, "help": "",
         "choices": [{"value": "quarterly", "label": "Every quarter"}, "annually"], "default": "annually"},
        {"key": "channels", "label": "Channels", "type": "multiselect", "required": False, "help": "",
         "choices": ["email", "sms", {"value": "phone", "label": "Telephone"}]},
        {"key": "mailbox", "label": "Mailbox", "type": "email", "required": False, "help": ""},
        {"key": "hotline", "label": "Hotline", "type": "phone", "required": False, "help": ""},
        {"key": "status_page", "label": "Status page", "type": "url", "required": False, "help": ""},
        {"key": "rto", "label": "RTO", "type": "duration", "required": False, "max": 10080, "help": ""},
        {"key": "systems", "label": "Systems", "type": "table", "required": False, "help": "",
         "columns": [
             {"key": "name", "label": "System", "type": "text", "required": True},
             {"key": "tier", "label": "Tier", "type": "select", "choices": ["gold", "silver"]},
             {"key": "rpo", "label": "RPO", "type": "duration"},
             {"key": "owner", "label": "Owner", "type": "user"},
             {"key": "vendor", "label": "Vendor contact", "type": "contact"},
         ]},
        {"key": "coordinator", "label": "Coordinator", "type": "user", "required": False, "help": ""},
        {"key": "supplier", "label": "Supplier contact", "type": "contact", "required": False, "help": ""},
    ],
}


@pytest.fixture
def all_types_section():
    import copy

    return copy.deepcopy(ALL_TYPES_SECTION)
