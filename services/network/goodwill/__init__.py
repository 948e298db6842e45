"""Goodwill pre-authorisations (善意维修预授权): a store asks HQ before a repair the brand may pay out of goodwill."""
