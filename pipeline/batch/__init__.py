"""Documents → the output folder, night after night: which inputs (`inputs`), what is done already
(`state`), where documents run (`executors`, `workers`), the run and its commits (`run`), what the
operator sees (`progress`, `summary`)."""
