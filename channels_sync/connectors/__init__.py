"""Marketplace connectors: one typed Protocol (``base.Connector``), an explicit registry."""
