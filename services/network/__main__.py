from services.common.runner import main
from services.network.main import spec
from services.network.settings import NetworkSettings

main(spec, NetworkSettings)
