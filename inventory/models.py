"""Every model, imported in one place so that mappers and migrations see all tables."""

from inventory.audit.models import AuditEntry
from inventory.auth.models import ApiToken, LoginFailure, User, UserSession
from inventory.catalog.models import Category, Material
from inventory.sites.models import Agreement, AgreementLine, Site, SiteHazard

__all__ = ["Agreement", "AgreementLine", "ApiToken", "AuditEntry", "Category", "LoginFailure",
           "Material", "Site", "SiteHazard", "User", "UserSession"]
