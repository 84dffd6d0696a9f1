"""Every model, imported in one place so that mappers and migrations see all tables."""

from inventory.audit.models import AuditEntry
from inventory.auth.models import ApiToken, LoginFailure, User, UserSession
from inventory.catalog.models import Category, Material
from inventory.norms.models import Norm
from inventory.sites.models import Agreement, AgreementLine, Site, SiteHazard
from inventory.stock.models import (
    DocumentCounter,
    EquipmentTest,
    IdempotencyRecord,
    Issue,
    IssueLine,
    Movement,
    Receipt,
    Return,
    ReturnLine,
    StockItem,
    Transfer,
    TransferLine,
)
from inventory.stocktakes.models import FoundLine, Stocktake, StocktakeCount, StocktakeLine

__all__ = ["Agreement", "AgreementLine", "ApiToken", "AuditEntry", "Category", "DocumentCounter",
           "EquipmentTest",
           "FoundLine", "IdempotencyRecord", "Issue", "IssueLine", "LoginFailure", "Material", "Movement",
           "Norm", "Receipt", "Return", "ReturnLine", "Site", "SiteHazard", "StockItem", "Stocktake",
           "StocktakeCount", "StocktakeLine", "Transfer", "TransferLine", "User", "UserSession"]
