"""The OBD-II driver process: `python -m carnel.drivers.obd`."""
from carnel.drivers.obd.service import main

main()
