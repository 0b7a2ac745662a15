// Public API of @opi/kit: everything importable from outside is listed here.
