"""The live-account commands: preflight before the first apply, verify and accept after, outputs, and the deployer policy."""
