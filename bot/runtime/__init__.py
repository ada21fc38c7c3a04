"""The runtime: I/O around the pure engine. Every inbound message and due timer is a turn (turn.py),
one transaction, nothing sent before commit; the outbox (outbox/) sends after. runtime.py lists
the services; docs/architecture.md maps every room."""
