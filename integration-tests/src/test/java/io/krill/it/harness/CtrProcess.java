package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A running ctr whose output is drained on separate threads, so that a chatty or blocked ctr can
 * never deadlock the test, and whose stdin stays open until the test closes it.
 */
public final class CtrProcess implements AutoCloseable {
  private final List<String> command;
  private final Process process;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private final Thread outPump;
  private final Thread errPump;

  public CtrProcess(List<String> command, ProcessBuilder.Redirect stdin) {
    this.command = List.copyOf(command);
    try {
      process = new ProcessBuilder(command).redirectInput(stdin).start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
    outPump = pump(process.getInputStream(), out, "ctr-stdout-" + process.pid());
    errPump = pump(process.getErrorStream(), err, "ctr-stderr-" + process.pid());
  }

  private static Thread pump(InputStream in, ByteArrayOutputStream sink, String name) {
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[8192];
              try (in) {
                int n;
                while ((n = in.read(buf)) > 0) {
                  synchronized (sink) {
                    sink.write(buf, 0, n);
                  }
                }
              } catch (IOException e) {
                // the process was killed; keep what we have
              }
            },
            name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** ctr's stdin (a pipe); only meaningful when started with a piped stdin. */
  public OutputStream stdin() {
    return process.getOutputStream();
  }

  public String stdoutSoFar() {
    synchronized (out) {
      return out.toString(StandardCharsets.UTF_8);
    }
  }

  public String stderrSoFar() {
    synchronized (err) {
      return err.toString(StandardCharsets.UTF_8);
    }
  }

  /**
   * Polls until ctr's stdout so far contains {@code text}; fails (leaving ctr running) after {@code
   * timeout}.
   */
  public void awaitStdout(String text, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!stdoutSoFar().contains(text)) {
      if (System.nanoTime() > deadline || !process.isAlive() && !stdoutSoFar().contains(text)) {
        fail(
            "ctr stdout never showed "
                + text.strip()
                + (process.isAlive() ? "" : " (ctr exited)")
                + ": "
                + new Result(
                    command,
                    process.isAlive() ? -1 : process.exitValue(),
                    stdoutSoFar(),
                    stderrSoFar()));
      }
      Host.sleep(50);
    }
  }

  /**
   * For a {@code ctr events} process: polls until it has printed a {@code topic} event whose line
   * holds every one of {@code fragments}; fails after a minute, showing the events so far.
   */
  public void awaitEvent(String topic, String... fragments) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      if (stdoutSoFar()
          .lines()
          .anyMatch(
              l -> l.contains(" " + topic + " ") && Stream.of(fragments).allMatch(l::contains))) {
        return;
      }
      Host.sleep(100);
    }
    fail(
        "no "
            + topic
            + " event with "
            + List.of(fragments)
            + " from "
            + String.join(" ", command)
            + "; events:\n"
            + stdoutSoFar()
            + stderrSoFar());
  }

  /**
   * Waits for ctr to exit; kills it and fails the test when it takes longer than {@code timeout}.
   */
  public Result await(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        joinPumps();
        fail(
            "ctr did not finish within "
                + timeout.toSeconds()
                + " s; killed it. "
                + new Result(command, -1, stdoutSoFar(), stderrSoFar()));
      }
      joinPumps();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
      fail("interrupted while waiting for " + command);
    }
    return new Result(command, process.exitValue(), stdoutSoFar(), stderrSoFar());
  }

  private void joinPumps() throws InterruptedException {
    outPump.join(10_000);
    errPump.join(10_000);
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
