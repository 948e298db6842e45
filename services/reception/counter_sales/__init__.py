"""Accessories sold over the counter, without a repair order (柜台精品销售)."""
