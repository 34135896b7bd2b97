package io.krill.cli;

import java.util.List;

/** One {@code krill} subcommand. Each lives in its own small class; {@link Main} only dispatches. */
interface Command {
  String name();

  /** One line for {@code krill help}. */
  String summary();

  /** Usage lines after {@code krill NAME}. */
  String usage();

  /** Runs the command; the return value is the process exit code. */
  int run(List<String> args, Console console) throws Exception;
}
