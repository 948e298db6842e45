"""Network: stores and partner outlets, onboarding, API keys, audits, warranty claims,
settlement between the brand and its stores, and HQ KPIs."""
