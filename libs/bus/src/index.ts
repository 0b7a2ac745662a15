// Public API of @opi/bus: everything importable from outside is listed here.
