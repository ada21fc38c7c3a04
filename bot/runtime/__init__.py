"""The runtime: I/O around the pure engine. One input, one transaction; nothing sent before commit."""
