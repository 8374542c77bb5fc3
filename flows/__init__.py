"""flows room."""
