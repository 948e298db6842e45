from services.common.runner import main
from services.workshop.main import create_app, spec
from services.workshop.settings import WorkshopSettings

main(spec, WorkshopSettings, create_app)
