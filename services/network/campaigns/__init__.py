"""Recall and service campaigns: HQ publishes them with their affected VINs, a VIN lookup
answers a car's open campaigns, closed repair orders complete them."""
