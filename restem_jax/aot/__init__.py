"""Ahead-of-time memory plan: the run's programs lowered and compiled for a target topology."""
