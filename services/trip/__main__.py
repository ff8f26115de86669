from carnel.ipc import run
from carnel.services.trip.service import svc

run(svc)
