"""The Textual front end: renders engine state and dispatches the user's intents."""
