"""Fleet accounts (大客户): a company's contract, vehicles and contacts, its orders' approval and credit."""
