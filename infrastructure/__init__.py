"""The local stack: template.yaml played on an embedded AWS (moto) with the functions run in-process.

`template` reads the SAM template, `provision` creates its resources on the embedded AWS, `runner`
plays Lambda's part (SQS event sources, schedules, API Gateway), `local_stack` wires them for
`make run`. The wiring lives only in template.yaml; nothing here repeats it.
"""
