from services.common.runner import main
from services.reception.main import spec
from services.reception.settings import ReceptionSettings

main(spec, ReceptionSettings)
