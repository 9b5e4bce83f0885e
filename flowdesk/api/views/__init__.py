"""Views of the REST API: parse input, call one action, render."""
