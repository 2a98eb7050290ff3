"""No models. The module exists so that ``migrate`` sends ``post_migrate`` for this app:
Django sends it only to apps with a models module, and ``apps.create_cache_tables``
(the database cache table) listens for it."""
