package io.krill.runtime;

import java.util.Map;
import java.util.Set;

/**
 * What a Kill may ask of a wasm guest. WASI has no signal handlers, so a signal either ends the
 * guest (exit status 128 + signal), is ignored (those whose default action is to ignore), or is
 * refused before anything happens to the task: a number that is no Linux signal, as the kernel and
 * runc refuse it, and job control, since a guest cannot be stopped and continued.
 */
final class Signals {
  /** Linux's signals are 1 to SIGRTMAX; 0 only asks whether the process exists. */
  static final int MAX = 64;

  /** Default action "ignore": SIGCHLD, SIGURG, SIGWINCH (and 0, the existence check). */
  private static final Set<Integer> IGNORED = Set.of(0, 17, 23, 28);

  /** Default action "stop" or "continue", which a wasm guest cannot do. */
  private static final Map<Integer, String> JOB_CONTROL =
      Map.of(18, "SIGCONT", 19, "SIGSTOP", 20, "SIGTSTP", 21, "SIGTTIN", 22, "SIGTTOU");

  private Signals() {}

  /**
   * Whether the signal ends the guest; false for one to ignore.
   *
   * @param who how messages name the process, e.g. {@code container web-1}
   * @throws KrillException INVALID_ARGUMENT for a number that is no signal, UNIMPLEMENTED for job
   *     control; either way the process is left as it was
   */
  static boolean terminates(String who, int signal) {
    // The wire carries an unsigned 32-bit number, so anything above 2^31 arrives negative.
    if (signal < 0 || signal > MAX) {
      throw new KrillException(
          ErrorCode.INVALID_ARGUMENT,
          who
              + ": signal "
              + Integer.toUnsignedString(signal)
              + " does not exist (Linux signals are 1 to "
              + MAX
              + "); nothing was sent, the task keeps running");
    }
    String stop = JOB_CONTROL.get(signal);
    if (stop != null) {
      throw new KrillException(
          ErrorCode.UNIMPLEMENTED,
          who
              + ": "
              + stop
              + " ("
              + signal
              + ") is not supported: a wasm guest cannot be paused or continued, only ended"
              + " (SIGTERM, SIGKILL); nothing was sent, the task keeps running");
    }
    return !IGNORED.contains(signal);
  }
}
