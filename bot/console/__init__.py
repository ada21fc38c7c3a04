"""The coach console: staff pages for alerts, families, the program, stats and a web chat."""
