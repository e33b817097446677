"""Apps as files: install a folder of definitions into the database, export it back."""
