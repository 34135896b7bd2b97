package io.krill.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.runtime.TaskFixture.Bundle;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * stdout and stderr as FIFOs, the way containerd hands them over: the reader may come late, go
 * away, or never come (a {@code ctr run -d} that has exited). A guest never waits for a reader, and
 * a kill always ends its thread and gives back its memory.
 */
@Timeout(120)
class TaskManagerFifoStdioTest {
  @TempDir Path tmp;
  TaskFixture f;

  @BeforeEach
  void setUp() {
    f = new TaskFixture(tmp);
  }

  @AfterEach
  void tearDown() throws Exception {
    f.close();
  }

  @Test
  void stdoutFifoWithoutReader_guestRunsAndKillEndsItsThread() throws Exception {
    Bundle b = f.bundleWithResource("noreader", "sleep.wat");
    f.tasks.create(b.spec(fifoStdio(b)));
    f.startRunning("noreader");

    f.tasks.kill("noreader", 9);

    assertEquals(137, f.await("noreader").code());
    TaskFixture.eventually(
        "the guest thread ends", () -> !TaskFixture.threadAlive("guest-noreader"));
    f.tasks.delete("noreader");
  }

  @Test
  void stdoutFifoNobodyReads_floodingGuestKilled_threadEnds() throws Exception {
    Bundle b = f.bundleWithResource("flood", "flood.wat");
    f.tasks.create(b.spec(fifoStdio(b)));
    f.startRunning("flood");
    // Long enough for the pipe to fill and the guest to block in its write.
    Thread.sleep(300);

    f.tasks.kill("flood", 9);

    assertEquals(137, f.await("flood").code());
    TaskFixture.eventually("the guest thread ends", () -> !TaskFixture.threadAlive("guest-flood"));
    f.tasks.delete("flood");
  }

  @Test
  void stdoutFifoReaderComesLate_getsTheOutputThenEndOfFileWhenTheGuestEnds() throws Exception {
    Bundle b = f.bundleWithResource("late", "hello-sleep.wat");
    Stdio stdio = fifoStdio(b);
    f.tasks.create(b.spec(stdio));
    f.startRunning("late");
    // The guest wrote before anyone read; what it wrote waits in the pipe.
    try (InputStream in = Files.newInputStream(Path.of(stdio.stdout()))) {
      assertEquals("hello\n", new String(in.readNBytes(6), StandardCharsets.UTF_8));

      f.tasks.kill("late", 15);
      assertEquals(143, f.await("late").code());
      // krill's own end is no writer: once the guest has gone, the reader sees end of file.
      assertEquals(-1, in.read());
    }
    f.tasks.delete("late");
  }

  /**
   * ctr opens its FIFO's read end on a goroutine and, once it has the task's exit, cancels an open
   * that has not finished: output written before that open finished was lost. So the exit of a
   * guest that ended by itself waits (a bounded time) until its output has been read.
   */
  @Test
  void guestEndsBeforeItsReaderReads_exitComesOnlyOnceTheOutputIsRead() throws Exception {
    Bundle b = f.bundleWithResource("early", "hello.wat");
    Stdio stdio = fifoStdio(b);
    f.tasks.create(b.spec(stdio));
    AtomicReference<String> read = new AtomicReference<>();
    Thread reader = lateReader(stdio, read);
    f.tasks.start("early");

    assertEquals(0, f.await("early").code());
    assertEquals("hello\n", read.get(), "the output was read before the exit was reported");
    reader.join();
    f.tasks.delete("early");
  }

  /**
   * A signal that comes once the guest has ended by itself (ctr forwards the SIGPIPE it gets when
   * its stdin copy finds the guest gone) is sent to a process that has exited: it changes neither
   * the exit status nor the wait for the output's reader (ctr abandons a FIFO open that has not
   * finished when the exit comes).
   */
  @Test
  void signalAfterTheGuestEnded_exitStatusAndOutputStayTheGuests() throws Exception {
    Bundle b = f.bundleWithResource("ended", "hello.wat");
    Stdio stdio = fifoStdio(b);
    f.tasks.create(b.spec(stdio));
    f.tasks.start("ended");
    TaskFixture.eventually(
        "the guest has ended and its exit waits for the output's reader",
        () -> inFrame("guest-ended", "awaitOutputRead"));

    AtomicReference<String> read = new AtomicReference<>();
    Thread reader = lateReader(stdio, read);
    f.tasks.kill("ended", 13);

    assertEquals(0, f.await("ended").code());
    assertEquals("hello\n", read.get(), "the output was read before the exit was reported");
    reader.join();
    f.tasks.delete("ended");
  }

  /**
   * Starts a reader that opens the stdout FIFO 300 ms late and puts its first 6 bytes in {@code
   * read}.
   */
  private static Thread lateReader(Stdio stdio, AtomicReference<String> read) {
    Thread reader =
        new Thread(
            () -> {
              try {
                Thread.sleep(300);
                try (InputStream in = Files.newInputStream(Path.of(stdio.stdout()))) {
                  read.set(new String(in.readNBytes(6), StandardCharsets.UTF_8));
                }
              } catch (IOException | InterruptedException e) {
                read.set(e.toString());
              }
            });
    reader.start();
    return reader;
  }

  /** Whether the thread named {@code name} is in a call of a method named {@code method}. */
  private static boolean inFrame(String name, String method) {
    return Thread.getAllStackTraces().entrySet().stream()
        .anyMatch(
            e ->
                e.getKey().getName().equals(name)
                    && Arrays.stream(e.getValue()).anyMatch(f -> f.getMethodName().equals(method)));
  }

  private Stdio fifoStdio(Bundle b) throws IOException, InterruptedException {
    Path out = b.dir().resolve("stdout.fifo");
    Path err = b.dir().resolve("stderr.fifo");
    for (Path p : new Path[] {out, err}) {
      Process mk = new ProcessBuilder("mkfifo", p.toString()).inheritIO().start();
      assertTrue(mk.waitFor(30, TimeUnit.SECONDS) && mk.exitValue() == 0, "mkfifo " + p);
    }
    return new Stdio(null, out.toString(), err.toString(), false);
  }
}
