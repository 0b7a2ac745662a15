// Public API of @opi/datapath: everything importable from outside is listed here.
