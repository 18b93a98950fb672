"""Developer tools run by the test suite (not part of the app)."""
