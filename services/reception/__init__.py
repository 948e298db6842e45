"""Reception: appointments, check-in with walk-around inspection, repair orders from
estimate to handover, settlement and payment, insurance jobs, 24-hour roadside assistance."""
