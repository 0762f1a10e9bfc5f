"""Domain logic: the only code that changes state; one transaction per use case (DESIGN.md §2)."""
