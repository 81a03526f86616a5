"""The ``aic`` command: the composition root. Each subcommand imports its stage lazily."""
