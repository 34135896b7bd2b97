package io.krill.cri.core;

import io.krill.engine.Guest;
import io.krill.engine.GuestResult;
import io.krill.engine.GuestSpec;
import io.krill.engine.WasmEngine;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * An engine whose guests follow their argv instead of running wasm, so CRI tests need neither
 * Wasmtime nor compiled modules. {@code argv[0]} is the module path; then:
 *
 * <ul>
 *   <li>{@code print TEXT} writes TEXT to stdout and exits 0;
 *   <li>{@code fail TEXT CODE} writes TEXT to stderr and exits CODE;
 *   <li>{@code cat} copies stdin to stdout until its end, then exits 0;
 *   <li>{@code serve TEXT} (or nothing) writes TEXT to stdout, then runs until it is interrupted.
 * </ul>
 */
public final class FakeEngine implements WasmEngine {
  private final Object lock = new Object();
  private int running;

  /**
   * Waits (bounded) until no guest of this engine is in {@code run()}: a killed guest is reported
   * stopped before its thread has closed its stdout and stderr files.
   */
  public void awaitGuestsDone(long timeoutMillis) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    synchronized (lock) {
      while (running > 0 && System.currentTimeMillis() < deadline) {
        lock.wait(Math.max(1, deadline - System.currentTimeMillis()));
      }
    }
  }

  @Override
  public String name() {
    return "fake";
  }

  @Override
  public Guest prepare(GuestSpec spec) {
    return new FakeGuest(spec);
  }

  final class FakeGuest implements Guest {
    private final GuestSpec spec;
    private final CountDownLatch interrupted = new CountDownLatch(1);
    private volatile InputStream stdin;

    FakeGuest(GuestSpec spec) {
      this.spec = spec;
    }

    @Override
    public GuestResult run() {
      synchronized (lock) {
        running++;
      }
      try {
        return runVerb();
      } finally {
        synchronized (lock) {
          running--;
          lock.notifyAll();
        }
      }
    }

    private GuestResult runVerb() {
      List<String> argv = spec.args();
      String verb = argv.size() > 1 ? argv.get(1) : "serve";
      // Like Wasmtime: the guest's stdout and stderr are open while it runs, written or not.
      try (OutputStream out = open(spec.stdout());
          OutputStream err = open(spec.stderr())) {
        switch (verb) {
          case "print" -> {
            write(out, argv.get(2));
            return new GuestResult.Exited(0);
          }
          case "env" -> {
            write(out, String.join("\n", spec.env()));
            return new GuestResult.Exited(0);
          }
          case "fail" -> {
            write(err, argv.get(2));
            return new GuestResult.Exited(Integer.parseInt(argv.get(3)));
          }
          case "cat" -> {
            try (InputStream in = Files.newInputStream(spec.stdin())) {
              stdin = in;
              in.transferTo(out);
            } catch (IOException e) {
              // stdin closed under us: its end
            }
            return new GuestResult.Exited(0);
          }
          default -> {
            write(out, argv.size() > 2 ? argv.get(2) : "");
            out.close();
            interrupted.await();
            return new GuestResult.Interrupted();
          }
        }
      } catch (IOException e) {
        return new GuestResult.Trapped(e.toString());
      } catch (InterruptedException e) {
        return new GuestResult.Interrupted();
      }
    }

    private static OutputStream open(Path to) throws IOException {
      if (to == null) {
        return OutputStream.nullOutputStream();
      }
      return Files.isRegularFile(to)
          ? Files.newOutputStream(to, StandardOpenOption.APPEND)
          : Files.newOutputStream(to, StandardOpenOption.WRITE);
    }

    private static void write(OutputStream out, String text) throws IOException {
      out.write(text.getBytes(StandardCharsets.UTF_8));
      out.flush();
    }

    @Override
    public void interrupt() {
      interrupted.countDown();
    }

    @Override
    public void closeStdin() {
      InputStream in = stdin;
      if (in != null) {
        try {
          in.close();
        } catch (IOException ignored) {
          // closed already
        }
      }
    }

    @Override
    public long linearMemoryBytes() {
      return 65536;
    }

    @Override
    public void close() {}
  }
}
