"""Tests for Charge Zones."""
