"""Insurance repairs: the insurer's assessment (定损) of an order's insurance lines."""
