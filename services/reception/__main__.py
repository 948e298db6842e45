from services.common.runner import main
from services.reception.main import create_app, spec
from services.reception.settings import ReceptionSettings

main(spec, ReceptionSettings, create_app)
