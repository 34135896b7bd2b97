package io.krill.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.runtime.ExitStatus;
import io.krill.runtime.TaskEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateFilesTest {
  @TempDir Path bundle;
  final StateFiles states = new StateFiles();

  private TaskEvent.Created created(String id, Path dir) {
    return new TaskEvent.Created(id, dir, List.of(), null, "/run/out", "/run/err", false, 42);
  }

  private String state() throws IOException {
    return Files.readString(bundle.resolve(StateFiles.FILE));
  }

  @Test
  void record_created_writesPidAndStatusCreated() throws IOException {
    states.record(created("c1", bundle));
    assertEquals("pid=42\nstatus=created\n", state());
  }

  @Test
  void record_started_writesStatusRunning() throws IOException {
    states.record(created("c1", bundle));
    states.record(new TaskEvent.Started("c1", 42));
    assertEquals("pid=42\nstatus=running\n", state());
  }

  @Test
  void record_exited_writesStoppedExitStatusAndNanosecondTimestamp() throws IOException {
    states.record(created("c1", bundle));
    states.record(new TaskEvent.Started("c1", 42));
    states.record(
        new TaskEvent.Exited(
            "c1",
            "c1",
            42,
            new ExitStatus(137, Instant.ofEpochSecond(1700000000, 5000), "killed")));
    assertEquals(
        "pid=42\nstatus=stopped\nexit_status=137\nexited_at=1700000000.000005000\n", state());
  }

  @Test
  void record_exitedAtWholeSecond_stillNineFractionDigits() throws IOException {
    states.record(created("c1", bundle));
    states.record(
        new TaskEvent.Exited("c1", "c1", 42, new ExitStatus(0, Instant.ofEpochSecond(12), "")));
    assertTrue(state().contains("\nexited_at=12.000000000\n"), state());
  }

  @Test
  void record_deleted_removesFile() {
    states.record(created("c1", bundle));
    states.record(new TaskEvent.Deleted("c1", "c1", 42, ExitStatus.now(0, "")));
    assertFalse(Files.exists(bundle.resolve(StateFiles.FILE)));
  }

  @Test
  void record_eventsOfUnknownTask_writeNothing() throws IOException {
    states.record(new TaskEvent.Started("ghost", 42));
    states.record(new TaskEvent.Exited("ghost", "ghost", 42, ExitStatus.now(1, "")));
    states.record(new TaskEvent.Deleted("ghost", "ghost", 42, ExitStatus.now(1, "")));
    try (var files = Files.list(bundle)) {
      assertEquals(List.of(), files.toList());
    }
  }

  @Test
  void record_twoTasks_keptApart() throws IOException {
    Path other = Files.createDirectories(bundle.resolve("other"));
    states.record(created("c1", bundle));
    states.record(created("c2", other));
    states.record(new TaskEvent.Started("c2", 42));
    assertEquals("pid=42\nstatus=created\n", state());
    assertEquals("pid=42\nstatus=running\n", Files.readString(other.resolve(StateFiles.FILE)));
  }

  @Test
  void record_afterWrites_leavesNoTemporaryFile() {
    states.record(created("c1", bundle));
    states.record(new TaskEvent.Started("c1", 42));
    assertFalse(Files.exists(bundle.resolve(StateFiles.FILE + ".tmp")));
  }

  @Test
  void record_bundleGone_doesNotThrow() throws IOException {
    Path gone = Files.createDirectories(bundle.resolve("gone"));
    states.record(created("c1", gone));
    Files.delete(gone.resolve(StateFiles.FILE));
    Files.delete(gone);
    states.record(new TaskEvent.Started("c1", 42));
    states.record(new TaskEvent.Deleted("c1", "c1", 42, ExitStatus.now(0, "")));
  }

  @Test
  void record_afterForget_putsNothingBackIntoTheBundle() throws IOException {
    // containerd removes the bundle as soon as Delete returns, while older events of the task may
    // still be queued; a file written then makes that removal fail ("directory not empty").
    states.record(created("c1", bundle));
    states.forget("c1");
    states.record(new TaskEvent.Started("c1", 42));
    states.record(new TaskEvent.Exited("c1", "c1", 42, ExitStatus.now(137, "")));
    try (var files = Files.list(bundle)) {
      assertEquals(List.of(), files.toList());
    }
  }

  @Test
  void record_createdQueuedBehindItsDelete_writesNothing() throws IOException {
    states.forget("c1");
    states.record(created("c1", bundle));
    states.record(new TaskEvent.Started("c1", 42));
    states.record(new TaskEvent.Deleted("c1", "c1", 42, ExitStatus.now(137, "")));
    try (var files = Files.list(bundle)) {
      assertEquals(List.of(), files.toList());
    }
    // The id may come back as a new container.
    states.record(created("c1", bundle));
    assertEquals("pid=42\nstatus=created\n", state());
  }

  @Test
  void forget_afterItsDeletedEventCameThrough_leavesTheNextContainerOfThatIdAlone()
      throws IOException {
    states.record(created("c1", bundle));
    states.record(new TaskEvent.Deleted("c1", "c1", 42, ExitStatus.now(0, "")));
    states.forget("c1");
    states.record(created("c1", bundle));
    assertEquals("pid=42\nstatus=created\n", state());
  }
}
