"""Cursor pagination: the position is an opaque cursor on a unique, never-changing key, so
rows inserted between two page requests neither repeat nor hide rows on the next page."""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-id"  # newest first; ids grow with creation time


class OldestFirstPagination(CursorPagination):
    ordering = "id"


class ByUsernamePagination(CursorPagination):
    ordering = "username"
