"""The Group resource: members kept as one item each, membership PATCH in every shape IdPs send."""
