"""The support admin of accounts: one module per area, registered on import."""

from accounts.admin import core, delegation

__all__ = ["core", "delegation"]
