"""What every stage may use: the per-user cache, a worker process, the terraform runner."""
