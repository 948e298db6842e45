"""Reception's copies of the brand's policy versions: the shared tables
(services/common/policy_copy_store.py) on reception's model base; migration 0012 creates them and
seeds version 1 from data/."""
from services.common.policy_copy_store import copy_tables
from services.reception.base import ReceptionModel

PolicyCopy, PolicyCopyPart = copy_tables(ReceptionModel)
