import sys

from services.common.runner import main
from services.network.main import create_app, spec
from services.network.settings import NetworkSettings

if len(sys.argv) > 1 and sys.argv[1] == "rebuild-kpis":
    from services.network.kpis.rebuild import cli

    cli(sys.argv[2:])
else:
    if any(arg in ("-h", "--help") for arg in sys.argv[1:2]):
        print("also: python -m services.network rebuild-kpis   rebuild the HQ KPI projections from the topics\n")
    main(spec, NetworkSettings, create_app)
