"""Rendering: the design laid out by the templates (templates.py), then written into out/ENV (writer.py)."""
