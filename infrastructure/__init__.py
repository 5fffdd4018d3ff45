"""The local stack: template.yaml played on an embedded AWS (moto) with the functions run in-process.

- `local/`: the AWS side. `template` reads the SAM template, `provision` creates its resources on
  the embedded AWS (`embedded_aws`, every change made to moto), `runner` plays Lambda's part (SQS
  event sources, schedules, API Gateway), `harness` starts the whole stack for `make run`, the e2e
  tests and the bench. It knows nothing of the channels or the demo.
- `standins/`: the marketplaces and the PIM, served on 127.0.0.1 to their published contracts
  (`standins/specs/`).
- `demo/`: the demo seller: its products, the listings the stand-ins start with, the seeding.
- `local_stack`: `make run`, the three put together.

The wiring lives only in template.yaml; nothing here repeats it.
"""
