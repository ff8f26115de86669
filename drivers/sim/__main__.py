from carnel.drivers.sim.service import svc
from carnel.ipc import run

run(svc)
