"""The whistle domain: pure rules (calendar and deadlines, catalogue, lifecycle, duplicates, assessment)."""
