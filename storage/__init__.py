"""Persistence: SQLAlchemy models, the database connection, migrations, and the queries the bot
runs (storage/queries/)."""
