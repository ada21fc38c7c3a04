"""Understanding: pure functions from a family member's text to what it means."""
