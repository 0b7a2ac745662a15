// Public API of @opi/runtime: everything importable from outside is listed here.
