"""(not built yet)"""
from focalflow.cli import StageContext
from focalflow.errors import FocalflowError


def run(ctx: StageContext) -> dict:
    raise FocalflowError("this stage is not built yet")
