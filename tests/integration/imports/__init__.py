"""Imports against real stores."""
