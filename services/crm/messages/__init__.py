"""Customer messages: SMS, WeChat template messages and email, sent from an outbox of their own."""
