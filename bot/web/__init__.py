"""The web app: provider webhooks, one-click unsubscribe and the health check."""
