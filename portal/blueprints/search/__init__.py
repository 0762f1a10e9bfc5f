"""search blueprint: the navigation's global search (a page, and its type-ahead fragment)."""
