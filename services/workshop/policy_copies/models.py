"""Workshop's copies of the brand's policy versions: the shared tables
(services/common/policy_copy_store.py) on workshop's model base; migration 0010 creates them and
seeds version 1 from data/."""
from services.common.policy_copy_store import copy_tables
from services.workshop.base import WorkshopModel

PolicyCopy, PolicyCopyPart = copy_tables(WorkshopModel)
