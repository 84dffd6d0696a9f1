"""The stock fixtures serve the API fuzz tests too."""

from tests.stock.conftest import catalog, keeper, manager

__all__ = ["catalog", "keeper", "manager"]
