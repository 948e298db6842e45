from services.common.runner import main
from services.workshop.main import spec
from services.workshop.settings import WorkshopSettings

main(spec, WorkshopSettings)
