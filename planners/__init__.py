"""Planners: take observations, return typed commands."""
