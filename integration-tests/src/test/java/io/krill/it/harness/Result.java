package io.krill.it.harness;

import java.util.List;

/** Outcome of one ctr invocation. */
public record Result(List<String> command, int exitCode, String stdout, String stderr) {

  public boolean ok() {
    return exitCode == 0;
  }

  public List<String> stdoutLines() {
    return stdout.lines().toList();
  }

  @Override
  public String toString() {
    return String.join(" ", command)
        + "\n  exit "
        + exitCode
        + "\n  stdout: "
        + indent(stdout)
        + "\n  stderr: "
        + indent(stderr);
  }

  private static String indent(String s) {
    return s.isEmpty() ? "(empty)" : s.strip().replace("\n", "\n          ");
  }
}
