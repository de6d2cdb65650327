"""The response tests reuse the action tests' MariaDB fixtures and the watch tests' HTTP receiver."""

from tests.actions.conftest import admin, dataset, db_config, executor, mysql_target, store
from tests.watch.conftest import receiver

__all__ = ["admin", "dataset", "db_config", "executor", "mysql_target", "receiver", "store"]
