"""Pages that have no API twin (login, logout, /ops, /admin/packs)."""
