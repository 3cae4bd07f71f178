"""Custom checkov checks for the three rules the user named (loaded with --external-checks-dir).

checkov loads nothing from a folder without this file, silently: `tfgen check` fails when
one of these checks did not run.
"""
