package io.krill.daemon;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Locale;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * One line per event, {@code key=value} fields, with {@code container=<id>} on every line about a
 * container: the code logs such events as {@code "container {0}: ..."}, so the id is lifted from
 * the first parameter and an operator can {@code grep container=ID} across the daemon's whole life.
 *
 * <p>Both daemons log the same way: {@code System.getLogger("krill.<area>")}, messages in {@link
 * java.text.MessageFormat} style, {@link #CONTAINER} first for a line about a container, and {@link
 * #install} once in {@code main}.
 */
public final class LogFormat extends Formatter {
  /**
   * The start of a message about one container, its id the first parameter: {@code container=<id>}.
   */
  public static final String CONTAINER = "container {0}: ";

  private static final String CONTAINER_PREFIX = "container {0}";

  public LogFormat() {}

  @Override
  public String format(LogRecord r) {
    String msg = formatMessage(r);
    String container = "";
    Object[] params = r.getParameters();
    if (r.getMessage() != null
        && r.getMessage().startsWith(CONTAINER_PREFIX)
        && params != null
        && params.length > 0) {
      container = " container=" + params[0];
    }
    String error =
        r.getThrown() == null ? "" : " error=\"" + quote(String.valueOf(r.getThrown())) + "\"";
    return Instant.ofEpochMilli(r.getMillis())
        + " level="
        + r.getLevel().getName().toLowerCase()
        + " logger="
        + r.getLoggerName()
        + container
        + " msg=\""
        + quote(msg)
        + "\""
        + error
        + "\n";
  }

  private static String quote(String s) {
    return s.replace("\"", "'").replace("\n", "\\n");
  }

  /**
   * Logs to {@code <runDir>/daemon.log} with size-based rotation when the launcher gave a run dir
   * (the launcher also points our stdout and stderr there, for what the JVM itself prints), else to
   * stderr; a foreground daemon ({@code krill daemon}) logs to both.
   */
  public static void install(Path runDir, long logMaxBytes, Level level, boolean foreground) {
    Logger root = Logger.getLogger("");
    for (Handler h : root.getHandlers()) {
      root.removeHandler(h);
    }
    Handler h;
    if (runDir != null) {
      RotatingLog log = new RotatingLog(runDir.resolve("daemon.log"), logMaxBytes);
      h = log;
      if (foreground) {
        // A service manager's journal gets every line too; stdout and stderr stay its own.
        Handler console = new ConsoleHandler();
        console.setFormatter(new LogFormat());
        console.setLevel(level);
        root.addHandler(console);
      } else {
        // Stack traces Java code prints itself go through the same rotation instead of the
        // launcher's fd.
        PrintStream stream = log.printStream();
        System.setOut(stream);
        System.setErr(stream);
      }
    } else {
      h = new ConsoleHandler();
    }
    h.setFormatter(new LogFormat());
    h.setLevel(level);
    root.addHandler(h);
    root.setLevel(level);
  }

  /** {@code log_level}'s words: debug, info, warn (or warning) and error. */
  public static Level level(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "debug" -> Level.FINE;
      case "info" -> Level.INFO;
      case "warn", "warning" -> Level.WARNING;
      case "error" -> Level.SEVERE;
      default ->
          throw new IllegalArgumentException(
              "log_level must be debug, info, warn or error, not " + name);
    };
  }

  public static Path rotatedPath(Path log) {
    return log.resolveSibling(log.getFileName() + ".1");
  }
}
