package io.krill.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.engine.Guest;
import io.krill.engine.GuestResult;
import io.krill.engine.GuestSpec;
import io.krill.engine.WasmEngine;
import io.krill.runtime.TaskFixture.Bundle;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Orderings that a real guest produces only by chance, forced with a scripted engine. */
@Timeout(120)
class TaskManagerFakeEngineTest {
  @TempDir Path tmp;
  TaskFixture f;
  ScriptedGuest guest;

  private void setUp(Supplier<GuestResult> run) {
    guest = new ScriptedGuest(run);
    f =
        new TaskFixture(
            tmp,
            new WasmEngine() {
              @Override
              public String name() {
                return "scripted";
              }

              @Override
              public Guest prepare(GuestSpec spec) {
                return guest;
              }
            },
            0);
  }

  @AfterEach
  void tearDown() throws Exception {
    guest.release.countDown();
    guest.releaseClose.countDown();
    f.close();
  }

  @Test
  void run_guestThrows_exits134WithInternalErrorOnStderr() throws Exception {
    setUp(
        () -> {
          throw new IllegalStateException("boom");
        });
    Bundle b = f.bundleWithResource("t", "hello.wat");
    assertEquals(134, f.run(b).code());
    assertTrue(b.stderrText().contains("krill internal error"), b.stderrText());
    // The guest is freed right after the exit is reported, on the guest's own thread.
    TaskFixture.eventually("the guest is closed", () -> guest.closed);
  }

  @Test
  void kill_guestIgnoresInterrupt_reportedStoppedOnceAndLateExitIgnored() throws Exception {
    setUp(
        () -> {
          guest.awaitQuietly(guest.release);
          return new GuestResult.Exited(0);
        });
    Bundle b = f.bundleWithResource("stuck", "hello.wat");
    f.tasks.create(b.spec());
    f.tasks.start("stuck");
    f.tasks.kill("stuck", 15);

    assertEquals(143, f.await("stuck").code());
    assertEquals(TaskState.STOPPED, f.tasks.info("stuck").state());
    guest.release.countDown();
    TaskFixture.eventually("the guest is closed", () -> guest.closed);
    assertEquals(
        List.of(TaskEvent.Created.class, TaskEvent.Started.class, TaskEvent.Exited.class),
        f.events.kinds("stuck"));
    assertEquals(143, f.tasks.info("stuck").exit().code());
  }

  @Test
  void kill_createdTask_closesGuestWithoutRunningIt() throws Exception {
    setUp(() -> new GuestResult.Exited(0));
    f.tasks.create(f.bundleWithResource("c", "hello.wat").spec());
    f.tasks.kill("c", 15);
    assertEquals(143, f.await("c").code());
    assertTrue(guest.closed);
    assertFalse(guest.ran);
  }

  @Test
  void kill_createdTaskWithIgnoredSignal_staysCreated() {
    setUp(() -> new GuestResult.Exited(0));
    f.tasks.create(f.bundleWithResource("c", "hello.wat").spec());
    f.tasks.kill("c", 0);
    f.tasks.kill("c", 28);
    assertEquals(TaskState.CREATED, f.tasks.info("c").state());
  }

  @Test
  void kill_betweenGuestEndAndExitReport_doesNotTouchClosedGuest() throws Exception {
    setUp(() -> new GuestResult.Exited(0));
    guest.blockInClose = true;
    f.tasks.create(f.bundleWithResource("r", "hello.wat").spec());
    f.tasks.start("r");
    assertTrue(guest.closeEntered.await(TaskFixture.PATIENCE.toSeconds(), TimeUnit.SECONDS));

    // The task is already STOPPED: containerd treats this NOT_FOUND as "already finished".
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.kill("r", 15));
    assertEquals(ErrorCode.NOT_FOUND, e.code());
    guest.releaseClose.countDown();

    f.await("r");
    assertFalse(guest.interruptedAfterClose);
  }

  /** Runs a script; like the Wasmtime binding, interrupting it once closed throws. */
  static final class ScriptedGuest implements Guest {
    final Supplier<GuestResult> script;
    final CountDownLatch release = new CountDownLatch(1);
    final CountDownLatch closeEntered = new CountDownLatch(1);
    final CountDownLatch releaseClose = new CountDownLatch(1);
    volatile boolean blockInClose;
    volatile boolean ran;
    volatile boolean closed;
    volatile boolean interruptedAfterClose;

    ScriptedGuest(Supplier<GuestResult> script) {
      this.script = script;
    }

    @Override
    public GuestResult run() {
      ran = true;
      return script.get();
    }

    @Override
    public void interrupt() {
      if (closed) {
        interruptedAfterClose = true;
        throw new NullPointerException("JNI error: Null pointer in rust value from Java");
      }
    }

    @Override
    public long linearMemoryBytes() {
      return 0;
    }

    @Override
    public void close() {
      closed = true;
      closeEntered.countDown();
      if (blockInClose) {
        awaitQuietly(releaseClose);
      }
    }

    void awaitQuietly(CountDownLatch latch) {
      try {
        latch.await(TaskFixture.PATIENCE.toSeconds(), TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
