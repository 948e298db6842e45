"""Receivables (回款): what is owed to a store by payer, its ageing, and payments received and matched."""
