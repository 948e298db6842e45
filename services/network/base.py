from services.common.db import model_base

NetworkModel = model_base("NetworkModel")
