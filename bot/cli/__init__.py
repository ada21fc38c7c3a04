"""The craftbot command line: admin tools, the local chat, and the Procfile's processes."""
