"""Form definitions: validation against the meta-schema, versions, and compiled specs."""
