// Public API of @opi/api: everything importable from outside is listed here.
