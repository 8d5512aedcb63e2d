"""Custom TFX components of the YT8M pipeline (one subpackage each: component.py + pure helpers)."""
