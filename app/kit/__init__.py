"""Small helpers every domain repeats (paging), written once."""
