from services.common.runner import main
from services.crm.main import create_app, spec
from services.crm.settings import CrmSettings

main(spec, CrmSettings, create_app)
