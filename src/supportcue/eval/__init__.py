"""`supportcue eval ...`: measure the system on labeled files (see DESIGN.md)."""
