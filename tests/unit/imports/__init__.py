"""Tests of the imports package."""
