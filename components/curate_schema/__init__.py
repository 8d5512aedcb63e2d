"""CurateSchema: adds tensor representations to an inferred schema (frame-level data)."""
