"""The live-account commands: preflight before the first apply, verify and accept after, outputs, and the deployer
policy. What the live ones share: session.py (one AWS session, its account guarded first) and report.py (one report)."""
