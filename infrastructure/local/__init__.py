"""The AWS side of the local stack: template.yaml provisioned on an embedded AWS (moto), and Lambda's
part played in this process (SQS event sources, schedules, API Gateway, the functions' runtime).

Nothing here knows the marketplaces (`infrastructure/standins`) or the demo seller
(`infrastructure/demo`); `harness` starts the whole stack as a subprocess by its module name.
"""
