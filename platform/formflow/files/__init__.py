"""Uploaded files: stored on local disk under the instance folder, described in the database."""
