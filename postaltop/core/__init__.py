"""The pure core: parsing, filtering, metrics, detection and action plans.

Nothing in this package performs I/O or imports Textual, asyncssh, aiomysql or sqlite3;
``tests/test_core_purity.py`` enforces it.
"""
