"""Serializers of the REST API, one module per domain; outputs have full and brief forms."""
