"""Listing and searching resources: request parameters, filter planning, paging (RFC 7644 §3.4)."""
