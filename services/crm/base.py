from services.common.db import model_base

CrmModel = model_base("CrmModel")
