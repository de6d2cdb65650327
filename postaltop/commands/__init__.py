"""Sub-commands of the command line, one module each (see postaltop.cli.COMMAND_MODULES)."""
