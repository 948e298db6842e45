from .envelope import CloudEvent, Event, catalogue, event_type, parse_event

__all__ = ["CloudEvent", "Event", "catalogue", "event_type", "parse_event"]
