"""invoke tasks, grouped by purpose; tasks.py assembles them into one Collection."""
