"""Writes of the OMS: one module per concept, functions named ``<entity>_<action>``."""
