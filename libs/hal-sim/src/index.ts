// Public API of @opi/hal-sim: everything importable from outside is listed here.
