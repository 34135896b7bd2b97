package io.krill.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

/**
 * What a command may touch besides its arguments: its output streams, the environment, and the
 * krill installation it runs from. Passed in, so tests run commands against a temp dir.
 */
record Console(PrintStream out, PrintStream err, Map<String, String> env, Path home) {
  /** Raised for a refusal the user must act on: printed without a stack trace, exit code 1. */
  static final class Refusal extends RuntimeException {
    Refusal(String message) {
      super(message);
    }
  }
}
