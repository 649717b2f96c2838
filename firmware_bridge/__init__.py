"""Bridge to real robots (serial / UDP / MAVLink); the protocol and firmware arrive with their issue."""
