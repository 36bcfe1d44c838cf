//! `nbgrader-k8s`: the admin command line (see issue "admin CLI"; subcommands land here).
