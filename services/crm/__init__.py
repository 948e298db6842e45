"""CRM: customers, vehicles and service history, post-service callbacks with surveys,
complaints, maintenance reminders, churn, club members and weekly and monthly reports."""
