"""In-app notifications: what the engine tells a person, with an unread count on every page."""
