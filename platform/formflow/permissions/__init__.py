"""Data permissions: which actions a role may take on which rows of a form, and which
fields it may see or change there."""
