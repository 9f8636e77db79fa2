"""JSON Schemas of what rig writes (report.json)."""
