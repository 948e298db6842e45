"""The HQ dashboard's aggregates: every region's and area's figures in one read, the
leading stores, the onboarding funnel, and trends by day, week or month."""
