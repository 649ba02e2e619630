"""The answer a reader sees first, in words generated from the tables and the primary tests."""
