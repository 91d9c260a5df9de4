"""Reports: text tables, JSON and HTML, all built from MemStats snapshots."""
