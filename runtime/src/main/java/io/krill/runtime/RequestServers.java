package io.krill.runtime;

import io.krill.engine.Guest;
import java.util.Map;

/**
 * What serves containers in the instance-per-request (WAGI) shape: given to {@link TaskManager} by
 * a daemon's composition root ({@link TaskManager#servingRequestsWith}); the core knows no HTTP.
 */
public interface RequestServers {
  /** {@code tcp://HOST:PORT}: krill serves HTTP there, an instance of the module per request. */
  String ANNOTATION = "krill.io/wagi";

  /**
   * {@code ROUTE=MODULE[,ROUTE=MODULE...]}; without it every path goes to the container's module.
   */
  String ROUTES_ANNOTATION = "krill.io/wagi-routes";

  /** How long one request's instance may run, a duration ({@link #durationMillis}). */
  String TIMEOUT_ANNOTATION = "krill.io/wagi-timeout";

  /** How many instances run at once, 1 to {@value #MAX_CONCURRENCY}. */
  String CONCURRENCY_ANNOTATION = "krill.io/wagi-concurrency";

  /** The largest request body, a size ({@link #sizeBytes}). */
  String MAX_BODY_ANNOTATION = "krill.io/wagi-max-body";

  /** How long a client has to send a request, a duration ({@link #durationMillis}). */
  String READ_TIMEOUT_ANNOTATION = "krill.io/wagi-read-timeout";

  int MAX_CONCURRENCY = 1024;

  /** What {@link #durationMillis} takes, for error messages. */
  String DURATION_FORM = "a duration such as 500ms, 30s or 2m";

  /** What {@link #sizeBytes} takes, for error messages. */
  String SIZE_FORM = "a size such as 65536, 64Ki or 10Mi (below 2Gi)";

  /** {@code 500ms}, {@code 30s}, {@code 2m} in milliseconds; -1 for anything else or zero. */
  static long durationMillis(String v) {
    String s = v.trim();
    try {
      long n;
      if (s.endsWith("ms")) {
        n = Long.parseLong(s.substring(0, s.length() - 2));
      } else if (s.endsWith("s")) {
        n = Math.multiplyExact(Long.parseLong(s.substring(0, s.length() - 1)), 1000);
      } else if (s.endsWith("m")) {
        n = Math.multiplyExact(Long.parseLong(s.substring(0, s.length() - 1)), 60_000);
      } else {
        n = -1;
      }
      return n > 0 ? n : -1;
    } catch (NumberFormatException | ArithmeticException e) {
      return -1;
    }
  }

  /** {@code 65536}, {@code 64Ki}, {@code 10Mi}, {@code 1Gi} in bytes; -1 for anything else. */
  static long sizeBytes(String v) {
    String s = v.trim();
    long unit = 1;
    if (s.endsWith("Ki")) {
      unit = 1L << 10;
    } else if (s.endsWith("Mi")) {
      unit = 1L << 20;
    } else if (s.endsWith("Gi")) {
      unit = 1L << 30;
    }
    if (unit > 1) {
      s = s.substring(0, s.length() - 2);
    }
    try {
      long n = Math.multiplyExact(Long.parseLong(s), unit);
      return n >= 0 && n <= Integer.MAX_VALUE - 1024 ? n : -1;
    } catch (NumberFormatException | ArithmeticException e) {
      return -1;
    }
  }

  /**
   * How long one request's instance of this container may run (engines stop it by themselves a
   * little after); a malformed setting in its annotations refuses the create, naming it.
   */
  long maxRunMillis(String containerId, Map<String, String> annotations);

  /**
   * The container's guest: {@link Guest#run()} serves until it is interrupted (SIGKILL) or, after
   * {@link Guest#terminateGracefully()} (SIGTERM), has finished what is in flight; it owns the
   * service's listener and programs and closes them.
   */
  Guest serve(RequestService service);
}
