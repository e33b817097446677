"""Records: submitted forms, their revisions, queries and indexes."""
