"""Stocktakes (盘点): blind counts by scanning, review, variances approved into the ledger."""
