"""Configuration: YAML files with positions, inheritance, and the typed models they must fit."""
