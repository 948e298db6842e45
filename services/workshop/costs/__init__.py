"""What a repair order cost the store: parts at their average cost when issued, labour at
the technicians' cost rates for the hours clocked, and sublet at what the store paid."""
