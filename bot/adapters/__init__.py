"""Platform adapters, found by name: ``bot.adapters.<name>`` for ``adapters.<name>`` in the configuration."""
