package io.krill.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogFormatTest {
  private static LogRecord record(String msg, Object... params) {
    LogRecord r = new LogRecord(Level.WARNING, msg);
    r.setLoggerName("krill.tasks");
    r.setParameters(params);
    return r;
  }

  @Test
  void format_containerMessage_addsContainerField() {
    String line = new LogFormat().format(record("container {0}: cannot open \"x\"\nnext", "c1"));
    assertTrue(line.contains(" container=c1 "), line);
    assertTrue(line.contains("msg=\"container c1: cannot open 'x'\\nnext\""), line);
    assertTrue(line.endsWith("\n") && line.indexOf('\n') == line.length() - 1, line);
  }

  @Test
  void format_otherMessage_noContainerField() {
    assertFalse(new LogFormat().format(record("daemon {0} up", "1")).contains("container="));
  }

  @Test
  void rotatingLog_pastMaxBytes_keepsOnePreviousFile(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("daemon.log");
    RotatingLog h = new RotatingLog(log, 100);
    h.setFormatter(new LogFormat());
    for (int i = 0; i < 10; i++) {
      h.publish(record("container {0}: event " + i, "c" + i));
    }
    h.close();
    assertTrue(Files.size(log) <= 100, "current log " + Files.size(log));
    assertTrue(Files.exists(LogFormat.rotatedPath(log)));
    assertTrue(Files.readString(log).contains("event 9"));
    assertEquals(2, Files.list(dir).count());
  }
}
