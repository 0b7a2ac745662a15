// Public API of @opi/hal-linux: everything importable from outside is listed here.
