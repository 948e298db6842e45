from dataclasses import replace
from functools import partial
from pathlib import Path

from fastapi import FastAPI

from services.common.app import Role, ScheduledJob, ServiceSpec, create_service_app
from services.common.clock import Clock
from services.crm.callbacks import clerk_router as clerk
from services.crm.callbacks import router as callbacks
from services.crm.churn import router as churn
from services.crm.complaints import router as complaints
from services.crm.customer_base import router as customer_base
from services.crm.customers import router as customers
from services.crm.events import handlers
from services.crm.messages import router as messages
from services.crm.messages import sender
from services.crm.reminders import router as reminders
from services.crm.reports import router as reports
from services.crm.scheduling import router as jobs
from services.crm.scheduling.service import JOBS, run_scheduled
from services.crm.settings import CrmSettings
from services.crm.vehicles import router as vehicles

spec = ServiceSpec(
    name="crm",
    title="CRM service",
    description="Customers, vehicles and service history, callbacks with surveys, complaints, maintenance reminders, "
                "churn, club members, weekly and monthly reports, each advisor's customer base; messages to customers "
                "by SMS, WeChat and email.",
    routers=[customers.router, callbacks.router, complaints.router, reminders.router, churn.router, reports.router,
             jobs.router, messages.router, clerk.router, vehicles.router, customer_base.router],
    handlers=handlers,
    migrations_dir=Path(__file__).parent / "migrations",
    scheduled=[ScheduledJob(name=job.name, run=partial(run_scheduled, job), every_seconds=job.every_seconds)
               for job in JOBS.values()],
)


def create_app(settings: CrmSettings | None = None, *, role: Role = "all", clock: Clock | None = None) -> FastAPI:
    settings = settings or CrmSettings()
    # The sender of customer messages runs in the worker, as long as the worker does (sender.job).
    sending = ScheduledJob(name="customer_messages", run=sender.job(settings),
                           every_seconds=settings.messages_poll_seconds)
    return create_service_app(replace(spec, scheduled=[*spec.scheduled, sending]), settings, role=role, clock=clock)
