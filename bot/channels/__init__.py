"""Channels: adapters that translate between provider payloads/APIs and our message types."""
