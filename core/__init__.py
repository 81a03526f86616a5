"""Shared foundation: settings, database pool, migrations, fleet registry."""
