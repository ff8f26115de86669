"""`carnel new`: a new service from templates, written into the source checkout and its image."""
from carnel.kernel.tools.scaffold.plan import ScaffoldError, ServicePlan, check_name, plan_service
from carnel.kernel.tools.scaffold.tree import DEV_IMAGE, create_service, source_root

__all__ = [
    "DEV_IMAGE",
    "ScaffoldError",
    "ServicePlan",
    "check_name",
    "create_service",
    "plan_service",
    "source_root",
]
