package io.krill.cri;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * A container's stdout and stderr: FIFOs in its bundle that the guest writes and krill's pump threads read
 * into the CRI log. Without a log path the guest gets no stdio at all.
 */
final class ContainerIo {
  private static final System.Logger LOG = System.getLogger("krill.cri");

  private final String stdout;
  private final String stderr;
  private final List<Thread> pumps;
  private final List<Path> fifos;
  private final ReopenableLog log;

  private ContainerIo(String stdout, String stderr, List<Thread> pumps, List<Path> fifos, ReopenableLog log) {
    this.stdout = stdout;
    this.stderr = stderr;
    this.pumps = pumps;
    this.fifos = fifos;
    this.log = log;
  }

  static ContainerIo open(String id, Path bundle, String logPath) throws IOException {
    if (logPath.isEmpty()) {
      return new ContainerIo(null, null, List.of(), List.of(), null);
    }
    Path log = Path.of(logPath);
    if (log.getParent() != null) {
      Files.createDirectories(log.getParent());
    }
    ReopenableLog file = new ReopenableLog(log);
    CriLog cri = new CriLog(file, Clock.systemUTC(), CriLog.DEFAULT_MAX_LINE);
    List<Thread> pumps = new ArrayList<>();
    List<Path> fifos = new ArrayList<>();
    for (String stream : List.of("stdout", "stderr")) {
      Path fifo = bundle.resolve(stream);
      mkfifo(fifo);
      fifos.add(fifo);
      pumps.add(daemon("log-" + stream + "-" + id.substring(0, 12), () -> {
        try (InputStream in = Files.newInputStream(fifo)) {
          cri.pump(stream, in);
        } catch (IOException e) {
          LOG.log(Level.WARNING, "container {0}: {1} log pump: {2}", id, stream, e.getMessage());
        }
      }));
    }
    daemon("log-close-" + id.substring(0, 12), () -> {
      for (Thread t : pumps) {
        try {
          t.join();
        } catch (InterruptedException e) {
          return;
        }
      }
      try {
        file.close();
      } catch (IOException ignored) {
        // nothing left to write
      }
    });
    return new ContainerIo(fifos.get(0).toString(), fifos.get(1).toString(), pumps, fifos, file);
  }

  private static Thread daemon(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static void mkfifo(Path fifo) throws IOException {
    try {
      Process p = new ProcessBuilder("mkfifo", "-m", "600", fifo.toString()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (p.waitFor() != 0) {
        throw new IOException("mkfifo " + fifo + ": " + out.strip());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted creating " + fifo, e);
    }
  }

  /** Whether the pumps still copy output, i.e. whether there is a log to reopen. */
  boolean logging() {
    return log != null && pumps.stream().anyMatch(Thread::isAlive);
  }

  void reopenLog() throws IOException {
    if (log != null) {
      log.reopen();
    }
  }

  String stdout() {
    return stdout;
  }

  String stderr() {
    return stderr;
  }

  /**
   * Ends pumps whose guest never opened (or never will reopen) its FIFO: a pump blocked opening a FIFO for
   * reading is released by a writer that opens and closes it. Done off the caller's thread, since opening
   * a FIFO whose pump already ended would block.
   */
  void abandon() {
    for (int i = 0; i < pumps.size(); i++) {
      Thread pump = pumps.get(i);
      Path fifo = fifos.get(i);
      if (pump.isAlive()) {
        daemon("log-release", () -> {
          if (pump.isAlive()) {
            try (FileOutputStream ignored = new FileOutputStream(fifo.toFile())) {
              // opening is the point
            } catch (IOException ignored) {
              // the bundle is already gone
            }
          }
        });
      }
    }
  }
}
