"""Flows: the YAML conversation definitions admins edit, their loader, validator and diagrams."""
