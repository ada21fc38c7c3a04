"""Pure time logic for family schedules: wall clocks, quiet hours, and which slot goes when."""
