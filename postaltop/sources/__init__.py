"""I/O adapters: each turns the outside world (SSH, MariaDB, the simulator) into core inputs."""
