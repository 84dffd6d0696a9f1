"""The stock ledger: stock items, the append-only movements, and the documents that move stock.

Nothing outside this package writes a quantity or a movement; other features call its services.
"""
