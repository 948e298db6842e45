"""Customers on credit (赊账): a store's credit accounts for customers it lets pay later, and the
service manager's allowance for one order to go on credit."""
