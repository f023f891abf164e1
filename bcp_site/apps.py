from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """django.contrib.admin, with the product's admin site as `admin.site`."""

    default_site = "bcp_site.admin_base.AdminSite"
