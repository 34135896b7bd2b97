package io.krill.shim;

import java.time.Instant;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** One line per event on stderr (the launcher sends it to the daemon's log file). */
final class LogFormat extends Formatter {
  @Override
  public String format(LogRecord r) {
    String msg = formatMessage(r);
    String error = r.getThrown() == null ? "" : " error=\"" + r.getThrown() + "\"";
    return Instant.ofEpochMilli(r.getMillis()) + " level=" + r.getLevel().getName().toLowerCase() + " logger="
        + r.getLoggerName() + " msg=\"" + msg.replace("\"", "'") + "\"" + error + "\n";
  }

  static void install(boolean debug) {
    Logger root = Logger.getLogger("");
    for (Handler h : root.getHandlers()) {
      root.removeHandler(h);
    }
    ConsoleHandler h = new ConsoleHandler();
    h.setFormatter(new LogFormat());
    h.setLevel(debug ? Level.FINE : Level.INFO);
    root.addHandler(h);
    root.setLevel(debug ? Level.FINE : Level.INFO);
  }
}
