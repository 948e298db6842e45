"""The build-out plan (网络发展规划): target cities and planned outlets per region and year, the
funnel from application to active outlet, and each outlet's checklist progress."""
