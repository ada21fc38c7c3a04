"""Message catalogs: what craftbot says, per locale, relationship and channel."""
