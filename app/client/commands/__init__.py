"""One module per API domain; each adds its sub-commands with `add(commands, connection)`."""
