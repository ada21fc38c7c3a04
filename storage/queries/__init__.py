"""The SQL the runtime needs, named by what it asks: outside migrations, nowhere else writes SQL.

- `families`: contacts (the families) and inbound messages: find, lock, add, update.
- `timers`: due timers, the next timers, and the `deliveries` claims that stop a second daily send.
- `records`: what a turn adds beside them: outbox rows, alerts, check-ins, consents.
- `outbox`: the dispatcher's claims and outcomes, provider delivery reports, housekeeping.
- `reads`: read-only questions for the CLI, exports and the simulator.
- `dialect`: the INSERT that knows ON CONFLICT on SQLite and PostgreSQL.

Every function takes the caller's ORM session (its transaction) and plain values, and hands back
plain values or rows: storage knows nothing of the bot above it.
"""
