from services.common.db import model_base

ReceptionModel = model_base("ReceptionModel")
