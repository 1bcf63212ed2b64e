"""One module per revision of the catalog's schema, oldest first by number."""
