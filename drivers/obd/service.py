"""obd: reads an ELM327 adapter and publishes vehicle signals, trouble codes and the VIN.

Publishes, all retained: `obd.signals.<PID name>` (SignalBatch), `obd.dtc` (TroubleCodes),
`obd.vin` (VehicleId) and `obd.status` (DeviceStatus). The adapter comes from
`[process.obd.config]` (see config.py); one that is missing or stops answering is reported
`unavailable` and tried again with capped backoff, never a crash.
"""
from __future__ import annotations

from carnel.drivers.obd.adapters import adapter_for
from carnel.drivers.obd.config import ObdConfig
from carnel.drivers.obd.driver import ObdDriver
from carnel.ipc import Service, run
from carnel.ipc.device import DeviceLink
from carnel.ipc.settings import ConfigError, process_config


def build_service(config: ObdConfig) -> Service:
    """The obd process's Service, reading the adapter `config` names once it is ready."""
    svc = Service("obd")

    @svc.task
    async def read_vehicle() -> None:
        adapter = adapter_for(config, svc.log)
        link = DeviceLink(svc, "obd", adapter.name)
        await link.run(ObdDriver(svc, adapter, config).session)

    return svc


def main() -> None:
    # A config that does not fit is the image's mistake: say which field, before joining the bus.
    try:
        config = process_config(ObdConfig)
    except ConfigError as exc:
        raise SystemExit(f"obd: {exc}") from None
    run(build_service(config))
