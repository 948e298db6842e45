"""New-car intake: the PDI sheet before delivery, the warranty registration at sale and its
corrections. Warranty cover is the VIN's, counted from the registration; it follows the car
through changes of owner."""
