"""Every model, imported in one place so that mappers and migrations see all tables."""

from inventory.audit.models import AuditEntry
from inventory.auth.models import ApiToken, LoginFailure, User, UserSession
from inventory.catalog.models import Category, Material
from inventory.dispatch.models import (
    Allocation,
    Incident,
    IncidentSite,
    Kit,
    KitLine,
    OwnerApproval,
    Request,
    RequestLine,
    RoadTime,
)
from inventory.feed.models import Event
from inventory.norms.models import Norm
from inventory.sites.models import Agreement, AgreementLine, Site, SiteHazard
from inventory.spreadsheets.models import ImportJob
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

__all__ = ["Agreement", "AgreementLine", "Allocation", "ApiToken", "AuditEntry", "Category",
           "DocumentCounter", "EquipmentTest", "Event", "FoundLine", "IdempotencyRecord", "ImportJob",
           "Incident", "IncidentSite", "Issue", "IssueLine", "Kit", "KitLine", "LoginFailure", "Material",
           "Movement", "Norm", "OwnerApproval", "Receipt", "Request", "RequestLine", "Return", "ReturnLine",
           "RoadTime", "Site", "SiteHazard", "StockItem", "Stocktake", "StocktakeCount", "StocktakeLine",
           "Transfer", "TransferLine", "User", "UserSession"]
