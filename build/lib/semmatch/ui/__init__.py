"""The app's interface pieces: texts (German, English) and the login gate."""
