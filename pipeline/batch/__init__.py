"""Documents → the output folder, night after night: which inputs (`inputs`), what a batch does to
each (`command`), what is done already (`state`), what to do (`plan`), where documents run
(`executors`; the coordinator's `pool` of `worker` processes and the `tasks` between them), each
outcome committed (`commit`), the run from start to summary (`run`), what the operator sees
(`progress`, `summary`)."""
