from services.common.runner import main
from services.crm.main import spec
from services.crm.settings import CrmSettings

main(spec, CrmSettings)
