package io.krill.runtime;

import static io.krill.runtime.TaskFixture.PATIENCE;
import static io.krill.runtime.TaskFixture.PID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.runtime.TaskFixture.Bundle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class TaskManagerLifecycleTest {
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
  void run_hello_writesStdoutAndExitsZero() throws Exception {
    Bundle b = f.bundleWithResource("hello", "hello.wat");

    assertEquals(PID, f.tasks.create(b.spec()));
    assertEquals(TaskState.CREATED, f.tasks.info("hello").state());
    assertEquals(PID, f.tasks.start("hello"));
    ExitStatus exit = f.await("hello");

    assertEquals(0, exit.code());
    assertEquals("hello\n", b.stdoutText());
    assertEquals("", b.stderrText());
    TaskInfo info = f.tasks.info("hello");
    assertEquals(TaskState.STOPPED, info.state());
    assertEquals(exit, info.exit());
  }

  @Test
  void terminal_oneOutputStream_krillsOwnMessagesToo_andResizeIsRecorded() throws Exception {
    Bundle b = f.bundleWithResource("tty", "trap.wat");
    // containerd's CRI names a stderr FIFO for a tty exec too, and never reads it.
    f.tasks.create(b.spec(new Stdio(null, b.stdout().toString(), b.stderr().toString(), true)));
    assertTrue(f.tasks.info("tty").terminal());
    f.tasks.resizeTerminal("tty", "", 120, 40);
    f.tasks.start("tty");
    ExitStatus exit = f.await("tty");

    assertEquals(ExitStatus.TRAP, exit.code());
    assertTrue(b.stdoutText().contains("container tty: wasm trap"), b.stdoutText());
    assertEquals("", b.stderrText());
    f.tasks.resizeTerminal("tty", "", 80, 24);
    assertEquals(new GuestProcess.TerminalSize(80, 24), f.tasks.get("tty").init.terminalSize);
  }

  @Test
  void resizeTerminal_withoutTerminalIgnored_unknownContainerNotFound() throws Exception {
    Bundle b = f.bundleWithResource("notty", "sleep.wat");
    f.tasks.create(b.spec());
    f.tasks.resizeTerminal("notty", "", 80, 24);
    KrillException e =
        assertThrows(KrillException.class, () -> f.tasks.resizeTerminal("nope", "", 80, 24));
    assertEquals(ErrorCode.NOT_FOUND, e.code());
    f.tasks.delete("notty");
  }

  @Test
  void lifecycle_hello_publishesCreatedStartedExitedDeletedInOrder() throws Exception {
    Bundle b = f.bundleWithResource("hello", "hello.wat");
    f.run(b);
    ExitStatus deleted = f.tasks.delete("hello");

    assertEquals(
        List.of(
            TaskEvent.Created.class,
            TaskEvent.Started.class,
            TaskEvent.Exited.class,
            TaskEvent.Deleted.class),
        f.events.kinds("hello"));
    TaskEvent.Created created = (TaskEvent.Created) f.events.of("hello").get(0);
    assertEquals(b.dir(), created.bundle());
    assertEquals(b.stdout().toString(), created.stdout());
    assertEquals(PID, created.pid());
    TaskEvent.Exited exited = (TaskEvent.Exited) f.events.of("hello").get(2);
    assertEquals(0, exited.status().code());
    assertEquals(exited.status(), deleted);
    assertEquals(deleted, ((TaskEvent.Deleted) f.events.of("hello").get(3)).status());
    assertFalse(f.tasks.ids().contains("hello"));
    assertTrue(f.tasks.isEmpty());
  }

  @Test
  void run_procExit3_exitStatus3() throws Exception {
    assertEquals(3, f.run(f.bundleWithResource("exit3", "exit3.wat")).code());
  }

  @Test
  void run_unreachable_exits134AndStderrMentionsWasmTrap() throws Exception {
    Bundle b = f.bundleWithResource("trap", "trap.wat");
    ExitStatus exit = f.run(b);
    assertEquals(134, exit.code());
    assertTrue(b.stderrText().contains("wasm trap"), b.stderrText());
    assertTrue(b.stderrText().contains("container trap"), b.stderrText());
  }

  @Test
  void kill_busyLoopSigterm_exits143AndGuestThreadEnds() throws Exception {
    Bundle b = f.bundleWithResource("spin", "spin.wat");
    f.tasks.create(b.spec());
    f.startRunning("spin");
    f.tasks.kill("spin", 15);
    assertEquals(143, f.await("spin").code());
    TaskFixture.eventually("the guest thread ends", () -> !TaskFixture.threadAlive("guest-spin"));
  }

  @Test
  void kill_busyLoopSigkill_exits137() throws Exception {
    Bundle b = f.bundleWithResource("spin", "spin.wat");
    f.tasks.create(b.spec());
    f.startRunning("spin");
    f.tasks.kill("spin", 9);
    assertEquals(137, f.await("spin").code());
    TaskFixture.eventually("the guest thread ends", () -> !TaskFixture.threadAlive("guest-spin"));
  }

  @Test
  void kill_rightAfterStart_guestThreadEnds() throws Exception {
    for (int i = 0; i < 30; i++) {
      String id = "spin-" + i;
      f.tasks.create(f.bundleWithResource(id, "spin.wat").spec());
      f.tasks.start(id);
      f.tasks.kill(id, 9);
      assertEquals(137, f.await(id).code());
      TaskFixture.eventually(
          "guest thread " + id + " ends", () -> !TaskFixture.threadAlive("guest-" + id));
    }
  }

  @Test
  void kill_sleeperInPollOneoff_exits143AndGuestThreadEnds() throws Exception {
    Bundle b = f.bundleWithResource("sleeper", "sleep.wat");
    f.tasks.create(b.spec());
    f.startRunning("sleeper");
    CompletableFuture<ExitStatus> waiting = f.tasks.waitFor("sleeper");

    f.tasks.kill("sleeper", 15);

    assertEquals(143, waiting.get(PATIENCE.toSeconds(), TimeUnit.SECONDS).code());
    // The kill grace timer reports a stuck guest stopped anyway; only the thread shows the sleep
    // ended.
    TaskFixture.eventually(
        "the guest thread ends", () -> !TaskFixture.threadAlive("guest-sleeper"));
  }

  /**
   * containerd's stdout FIFO may have no reader (yet, or ever): the guest neither waits nor hangs.
   */
  @Test
  void stdoutFifoNobodyReads_guestRunsToItsExitAndItsThreadEnds() throws Exception {
    Bundle b = f.bundleWithResource("fifo-hello", "hello.wat");
    Path fifo = b.dir().resolve("stdout.fifo");
    assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
    f.tasks.create(b.spec(new Stdio(null, fifo.toString(), b.stderr().toString(), false)));
    f.tasks.start("fifo-hello");
    assertEquals(0, f.await("fifo-hello").code());
    TaskFixture.eventually(
        "the guest thread ends", () -> !TaskFixture.threadAlive("guest-fifo-hello"));
  }

  @Test
  void stdoutFifoNobodyReads_killStopsTheGuestAndItsThreadEnds() throws Exception {
    Bundle b = f.bundleWithResource("fifo-sleeper", "sleep.wat");
    Path fifo = b.dir().resolve("stdout.fifo");
    assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
    f.tasks.create(b.spec(new Stdio(null, fifo.toString(), b.stderr().toString(), false)));
    f.startRunning("fifo-sleeper");
    f.tasks.kill("fifo-sleeper", 9);
    assertEquals(137, f.await("fifo-sleeper").code());
    TaskFixture.eventually(
        "the guest thread ends", () -> !TaskFixture.threadAlive("guest-fifo-sleeper"));
  }

  @Test
  void kill_ignoredSignalWhileRunning_keepsRunning() throws Exception {
    f.tasks.create(f.bundleWithResource("spin", "spin.wat").spec());
    f.startRunning("spin");
    f.tasks.kill("spin", 0);
    f.tasks.kill("spin", 28);
    assertEquals(TaskState.RUNNING, f.tasks.info("spin").state());
    f.tasks.kill("spin", 9);
    assertEquals(137, f.await("spin").code());
  }

  @Test
  void kill_numberThatIsNoSignal_invalidArgumentAndKeepsRunning() throws Exception {
    f.tasks.create(f.bundleWithResource("spin", "spin.wat").spec());
    f.startRunning("spin");
    for (int signal : new int[] {65, 99999, -1}) {
      KrillException e = assertThrows(KrillException.class, () -> f.tasks.kill("spin", signal));
      assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
      assertTrue(
          e.getMessage().contains("container spin")
              && e.getMessage().contains("signal " + Integer.toUnsignedString(signal)),
          e.getMessage());
      assertEquals(TaskState.RUNNING, f.tasks.info("spin").state());
    }
    f.tasks.kill("spin", 9);
    assertEquals(137, f.await("spin").code());
  }

  @Test
  void kill_jobControlSignal_unimplementedAndKeepsRunning() throws Exception {
    f.tasks.create(f.bundleWithResource("spin", "spin.wat").spec());
    f.startRunning("spin");
    for (int signal : new int[] {19, 18, 20, 21, 22}) {
      KrillException e =
          assertThrows(KrillException.class, () -> f.tasks.kill("spin", "", signal, true));
      assertEquals(ErrorCode.UNIMPLEMENTED, e.code());
      assertTrue(
          e.getMessage().contains("container spin") && e.getMessage().contains("(" + signal + ")"),
          e.getMessage());
      assertEquals(TaskState.RUNNING, f.tasks.info("spin").state());
    }
    f.tasks.kill("spin", 15);
    assertEquals(143, f.await("spin").code());
  }

  @Test
  void kill_highestRealtimeSignal_endsTheGuest() throws Exception {
    f.tasks.create(f.bundleWithResource("spin", "spin.wat").spec());
    f.startRunning("spin");
    f.tasks.kill("spin", 64);
    assertEquals(128 + 64, f.await("spin").code());
  }

  @Test
  void kill_termThenKill_reportsSigkill() throws Exception {
    f.tasks.create(f.bundleWithResource("spin", "spin.wat").spec());
    f.startRunning("spin");
    f.tasks.kill("spin", 15);
    try {
      f.tasks.kill("spin", 9);
    } catch (KrillException e) {
      assertEquals(ErrorCode.NOT_FOUND, e.code());
      return; // the SIGTERM already finished it
    }
    assertEquals(137, f.await("spin").code());
  }

  @Test
  void kill_createdTask_publishesExited137() throws Exception {
    f.tasks.create(f.bundleWithResource("hello", "hello.wat").spec());
    f.tasks.kill("hello", 9);

    assertEquals(137, f.await("hello").code());
    assertEquals(TaskState.STOPPED, f.tasks.info("hello").state());
    assertEquals(List.of(TaskEvent.Created.class, TaskEvent.Exited.class), f.events.kinds("hello"));
    assertEquals(137, ((TaskEvent.Exited) f.events.of("hello").get(1)).status().code());
    assertEquals(137, f.tasks.delete("hello").code());
  }

  @Test
  void start_afterKillOfCreatedTask_failedPrecondition() {
    f.tasks.create(f.bundleWithResource("hello", "hello.wat").spec());
    f.tasks.kill("hello", 9);
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.start("hello"));
    assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
  }

  @Test
  void start_twice_failedPrecondition() throws Exception {
    f.tasks.create(f.bundleWithResource("hello", "hello.wat").spec());
    f.tasks.start("hello");
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.start("hello"));
    assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
    f.await("hello");
  }

  @Test
  void delete_runningTask_failedPrecondition() throws Exception {
    f.tasks.create(f.bundleWithResource("spin", "spin.wat").spec());
    f.startRunning("spin");
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.delete("spin"));
    assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
    assertEquals(TaskState.RUNNING, f.tasks.info("spin").state());
    f.tasks.kill("spin", 9);
    f.await("spin");
  }

  @Test
  void delete_createdTask_neverStartedAndNoExitEvent() {
    f.tasks.create(f.bundleWithResource("hello", "hello.wat").spec());
    ExitStatus status = f.tasks.delete("hello");
    assertEquals(0, status.code());
    assertEquals(
        List.of(TaskEvent.Created.class, TaskEvent.Deleted.class), f.events.kinds("hello"));
  }

  @Test
  void kill_afterExit_notFound() throws Exception {
    f.run(f.bundleWithResource("hello", "hello.wat"));
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.kill("hello", 15));
    assertEquals(ErrorCode.NOT_FOUND, e.code());
  }

  @Test
  void create_sameIdTwice_alreadyExists() {
    Bundle b = f.bundleWithResource("hello", "hello.wat");
    f.tasks.create(b.spec());
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));
    assertEquals(ErrorCode.ALREADY_EXISTS, e.code());
    assertEquals(List.of(TaskEvent.Created.class), f.events.kinds("hello"));
  }

  @Test
  void create_afterDelete_sameIdAllowedAgain() throws Exception {
    Bundle b = f.bundleWithResource("hello", "hello.wat");
    f.run(b);
    f.tasks.delete("hello");
    Files.writeString(b.stdout(), "");
    assertEquals(0, f.run(b).code());
    assertEquals("hello\n", b.stdoutText());
  }

  @Test
  void operations_unknownId_notFound() {
    List<Runnable> calls =
        List.of(
            () -> f.tasks.start("nope"),
            () -> f.tasks.kill("nope", 9),
            () -> f.tasks.delete("nope"),
            () -> f.tasks.info("nope"),
            () -> f.tasks.waitFor("nope"),
            () -> f.tasks.stats("nope"),
            () -> f.tasks.closeStdin("nope"),
            () -> f.tasks.forceDelete("nope"));
    for (Runnable call : calls) {
      KrillException e = assertThrows(KrillException.class, call::run);
      assertEquals(ErrorCode.NOT_FOUND, e.code());
      assertTrue(e.getMessage().contains("nope"), e.getMessage());
    }
  }

  @Test
  void stats_runningBusyLoop_cpuNanosEventuallyPositive() throws Exception {
    f.tasks.create(f.bundleWithResource("spin", "spin.wat").spec());
    f.startRunning("spin");
    TaskFixture.eventually(
        "the guest has used CPU time", () -> f.tasks.stats("spin").cpuNanos() > 0);
    assertTrue(f.tasks.stats("spin").memoryBytes() > 0);
    f.tasks.kill("spin", 9);
    f.await("spin");
    assertTrue(f.tasks.stats("spin").cpuNanos() > 0, "CPU time is kept after the exit");
    assertEquals(0, f.tasks.stats("spin").memoryBytes());
  }

  @Test
  void forceDelete_runningTask_killsAndDeletes() throws Exception {
    f.tasks.create(f.bundleWithResource("spin", "spin.wat").spec());
    f.startRunning("spin");
    ExitStatus status = f.tasks.forceDelete("spin");
    assertEquals(137, status.code());
    assertEquals(
        List.of(
            TaskEvent.Created.class,
            TaskEvent.Started.class,
            TaskEvent.Exited.class,
            TaskEvent.Deleted.class),
        f.events.kinds("spin"));
  }

  @Test
  void run_twentyTasksConcurrently_allExitZero() throws Exception {
    int n = 20;
    List<Bundle> bundles = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      bundles.add(f.bundleWithResource("hello-" + i, "hello.wat"));
    }
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<Future<ExitStatus>> exits = new ArrayList<>();
      for (Bundle b : bundles) {
        exits.add(pool.submit(() -> f.run(b)));
      }
      for (int i = 0; i < n; i++) {
        assertEquals(
            0, exits.get(i).get(PATIENCE.toSeconds(), TimeUnit.SECONDS).code(), "task " + i);
        assertEquals("hello\n", bundles.get(i).stdoutText());
      }
    } finally {
      pool.shutdownNow();
      pool.awaitTermination(PATIENCE.toSeconds(), TimeUnit.SECONDS);
    }
    assertEquals(n, f.tasks.size());
    for (Bundle b : bundles) {
      assertEquals(
          List.of(TaskEvent.Created.class, TaskEvent.Started.class, TaskEvent.Exited.class),
          f.events.kinds(b.id()));
    }
  }
}
