"""Onboarding a county (以市带县): a contractor's folder to live lookups with one command, and the
贯标 conformance report the province checks."""
