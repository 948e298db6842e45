"""Events network handles (besides the store registry every service keeps)."""
from services.common.consumer import EventHandlers

handlers = EventHandlers()
