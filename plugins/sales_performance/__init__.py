"""Sales performance management, a Formflow plugin."""
