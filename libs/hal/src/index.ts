// Public API of @opi/hal: everything importable from outside is listed here.
