package io.krill.shim;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * One line per event, {@code key=value} fields, with {@code container=<id>} on every line about a
 * container: the code logs such events as {@code "container {0}: ..."}, so the id is lifted from the
 * first parameter and an operator can {@code grep container=ID} across the daemon's whole life.
 */
final class LogFormat extends Formatter {
  private static final String CONTAINER_PREFIX = "container {0}";

  @Override
  public String format(LogRecord r) {
    String msg = formatMessage(r);
    String container = "";
    Object[] params = r.getParameters();
    if (r.getMessage() != null && r.getMessage().startsWith(CONTAINER_PREFIX) && params != null && params.length > 0) {
      container = " container=" + params[0];
    }
    String error = r.getThrown() == null ? "" : " error=\"" + quote(String.valueOf(r.getThrown())) + "\"";
    return Instant.ofEpochMilli(r.getMillis()) + " level=" + r.getLevel().getName().toLowerCase() + " logger="
        + r.getLoggerName() + container + " msg=\"" + quote(msg) + "\"" + error + "\n";
  }

  private static String quote(String s) {
    return s.replace("\"", "'").replace("\n", "\\n");
  }

  /**
   * Logs to {@code <runDir>/daemon.log} with size-based rotation when the launcher gave a run dir
   * (the launcher also points our stdout and stderr there, for what the JVM itself prints), else to
   * stderr; a foreground daemon ({@code krill daemon}) logs to both.
   */
  static void install(DaemonOptions options) {
    Logger root = Logger.getLogger("");
    for (Handler h : root.getHandlers()) {
      root.removeHandler(h);
    }
    Handler h;
    if (options.runDir() != null) {
      RotatingLog log = new RotatingLog(options.runDir().resolve("daemon.log"), options.logMaxBytes());
      h = log;
      if (options.foreground()) {
        // A service manager's journal gets every line too; stdout and stderr stay its own.
        Handler console = new ConsoleHandler();
        console.setFormatter(new LogFormat());
        console.setLevel(options.logLevel());
        root.addHandler(console);
      } else {
        // Stack traces Java code prints itself go through the same rotation instead of the launcher's fd.
        PrintStream stream = log.printStream();
        System.setOut(stream);
        System.setErr(stream);
      }
    } else {
      h = new ConsoleHandler();
    }
    h.setFormatter(new LogFormat());
    h.setLevel(options.logLevel());
    root.addHandler(h);
    root.setLevel(options.logLevel());
  }

  static Path rotatedPath(Path log) {
    return log.resolveSibling(log.getFileName() + ".1");
  }
}
